import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../../lambdas/core/errors.js';
import { HANDLERS, type HandlerName } from '../../lambdas/core/routes.js';

// Static imports paths, so the bundler sees them; the first test checks they are the entries routes.ts names.
const MODULES: Record<HandlerName, { path: string; load: () => Promise<Record<string, unknown>> }> = {
  authorizer: { path: 'lambdas/authorizer/index.ts', load: () => import('../../lambdas/authorizer/index.js') },
  connect: { path: 'lambdas/connect/index.ts', load: () => import('../../lambdas/connect/index.js') },
  disconnect: { path: 'lambdas/disconnect/index.ts', load: () => import('../../lambdas/disconnect/index.js') },
  default: { path: 'lambdas/default/index.ts', load: () => import('../../lambdas/default/index.js') },
  publish: { path: 'lambdas/publish/index.ts', load: () => import('../../lambdas/publish/index.js') },
};

afterEach(() => {
  vi.unstubAllEnvs();
  vi.resetModules();
});

describe.each(Object.entries(HANDLERS) as [HandlerName, (typeof HANDLERS)[HandlerName]][])(
  'the %s handler module',
  (name, definition) => {
    const { path, load } = MODULES[name];

    it('is the entry routes.ts names', () => {
      expect(definition.entry).toBe(path);
    });

    it('imports without reading its configuration, and exports handler and createHandler', async () => {
      vi.stubEnv('SWITCHBOARD_TABLE_NAME', '');

      const module = await load();

      expect(module.handler).toBeTypeOf('function');
      expect(module.createHandler).toBeTypeOf('function');
    });

    it('reads its configuration on the first invocation and rejects when it is missing', async () => {
      vi.stubEnv('SWITCHBOARD_TABLE_NAME', '');
      const { handler } = (await load()) as { handler: (event: unknown) => Promise<unknown> };

      // Matched by name: resetModules gives each import its own copy of the error class.
      await expect(handler({ requestContext: { connectionId: 'c1' }, methodArn: 'arn' })).rejects.toMatchObject({
        name: ConfigurationError.name,
        message: expect.stringContaining('SWITCHBOARD_TABLE_NAME'),
      });
    });
  },
);
