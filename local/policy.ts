/**
 * Evaluates a Lambda authorizer's IAM policy against the `$connect` method ARN, as API Gateway does:
 * an explicit Deny wins, then an Allow is needed; anything else is a Deny. A result that is not a policy at
 * all is an authorizer configuration error, which API Gateway answers with 500.
 */

export type PolicyDecision =
  | { effect: 'Allow'; principalId: string; context: Record<string, string> }
  | { effect: 'Deny' }
  | { effect: 'Invalid'; reason: string };

interface Statement {
  Effect?: unknown;
  Action?: unknown;
  Resource?: unknown;
}

export function evaluateAuthorizerResult(result: unknown, methodArn: string): PolicyDecision {
  if (result === null || typeof result !== 'object') return { effect: 'Invalid', reason: 'result is not an object' };
  const { principalId, policyDocument, context } = result as Record<string, unknown>;
  if (typeof principalId !== 'string') return { effect: 'Invalid', reason: 'principalId is not a string' };
  const statements = (policyDocument as { Statement?: unknown } | undefined)?.Statement;
  if (!Array.isArray(statements)) return { effect: 'Invalid', reason: 'policyDocument.Statement is not a list' };

  const flattened = flattenContext(context);
  if (typeof flattened === 'string') return { effect: 'Invalid', reason: flattened };

  const matching = (statements as Statement[]).filter(
    (s) => anyMatches(s.Action, 'execute-api:Invoke') && anyMatches(s.Resource, methodArn),
  );
  if (matching.some((s) => s.Effect === 'Deny')) return { effect: 'Deny' };
  if (matching.some((s) => s.Effect === 'Allow')) return { effect: 'Allow', principalId, context: flattened };
  return { effect: 'Deny' };
}

/**
 * API Gateway accepts only string, number and boolean context values and hands them to the integration as
 * strings; an object or array in the context fails the request with 500.
 */
function flattenContext(context: unknown): Record<string, string> | string {
  if (context === undefined || context === null) return {};
  if (typeof context !== 'object' || Array.isArray(context)) return 'context is not an object';
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(context)) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'object') return `context value ${key} is not a string, number or boolean`;
    out[key] = String(value);
  }
  return out;
}

function anyMatches(patterns: unknown, value: string): boolean {
  const list = Array.isArray(patterns) ? patterns : [patterns];
  return list.some((p) => typeof p === 'string' && wildcardMatches(p, value));
}

/** IAM wildcards: `*` matches any run of characters, `?` any one character. */
export function wildcardMatches(pattern: string, value: string): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`).test(value);
}
