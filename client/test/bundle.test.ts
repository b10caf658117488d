import { describe, expect, it } from 'vitest';
import { buildClient } from '../build.js';

describe('browser bundle', () => {
  it('carries neither ws nor zod nor the protocol schemas, only the plain wire values it shares with the server', async () => {
    // Act
    const report = await buildClient({ write: false });

    // Assess
    const inputs = Object.keys(report.metafile.inputs);
    expect(inputs.filter((input) => /node_modules/.test(input))).toEqual([]);
    expect(inputs.filter((input) => !input.startsWith('client/src/'))).toEqual(['lambdas/core/wire.ts']);
  });

  it('exports the client API and loads ws only through a dynamic import left to the runtime', async () => {
    // Act
    const report = await buildClient({ write: false });
    const code = new TextDecoder().decode(report.code);

    // Assess
    expect(code).toMatch(/export\{[^}]*SwitchboardClient/);
    expect(code).not.toMatch(/from\s*["']ws["']/);
    // A literal specifier would make a downstream bundler (Vite, webpack) try to resolve ws for the browser.
    expect(code).not.toMatch(/import\(\s*["'`]ws["'`]\s*\)/);
    expect(code).toMatch(/import\(/);
    expect(code).not.toContain('Sec-WebSocket-Key');
    expect(report.gzipBytes).toBeLessThan(report.bytes);
  });
});
