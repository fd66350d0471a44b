/**
 * The switch for the integration suite's hooks, apart from testHooks.ts so that the engine worker
 * (which must not load the panel or vscode) can read it too. Worker threads share the host's environment.
 */
export const TEST_HOOKS_ENV = 'RELEVANCE_LENS_TEST_HOOKS';

export function testHooksEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return env[TEST_HOOKS_ENV] === '1';
}
