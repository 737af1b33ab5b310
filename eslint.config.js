// @ts-check
import { readdirSync } from 'node:fs';
import tseslint from 'typescript-eslint';

/** Files directly in src/ that wire the layers together and may import any of them. */
const COMPOSITION_ROOT = ['src/main.ts', 'src/gateway.ts', 'src/worker.ts', 'src/lifecycle.ts', 'src/file-exchange.ts'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'coverage/**', '.tmp/**', 'dist/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/ban-ts-comment': ['error', { 'ts-ignore': true, 'ts-expect-error': 'allow-with-description' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  // Layer rules (docs/ARCHITECTURE.md), checked here rather than hoped for. Tests and test
  // helpers may reach across layers (they assemble what they test).
  ...layers({
    'src/domain/**': ['translators', 'adapters', 'api', 'jobs', 'infra', 'simulators', 'config', 'gateway'],
    'src/translators/**': ['adapters', 'api', 'jobs', 'infra', 'simulators', 'config', 'gateway'],
    'src/adapters/**': ['api', 'jobs', 'simulators', 'config', 'gateway'],
    'src/jobs/**': ['api', 'adapters', 'translators', 'simulators', 'gateway'],
    // nothing of translators (the cursor codec is the API's own); infrastructure and configuration
    // reach it only through the composition root (gateway.ts)
    'src/api/**': ['adapters', 'simulators', 'translators', 'gateway', 'infra', 'config'],
    'src/simulators/**': ['api', 'jobs', 'adapters', 'translators', 'domain', 'gateway'],
    // infrastructure (logger, Redis, metrics) serves every layer and uses none of them but domain and config
    'src/infra/**': ['api', 'jobs', 'adapters', 'translators', 'simulators', 'gateway'],
    // only the environment: config imports no layer
    'src/config.ts': ['domain', 'translators', 'adapters', 'api', 'jobs', 'infra', 'simulators', 'gateway'],
  }),
);

/**
 * One config block per layer forbidding imports of the listed top-level folders of src/.
 * Every folder and file of src/ needs a rule or a place in the composition root: a new one
 * fails the lint until it is given one, so no layer goes unchecked by omission.
 */
function layers(rules) {
  const unruled = readdirSync(new URL('./src', import.meta.url), { withFileTypes: true })
    .filter((e) => e.isDirectory() || (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')))
    .map((e) => (e.isDirectory() ? `src/${e.name}/**` : `src/${e.name}`))
    .filter((path) => !(path in rules) && !COMPOSITION_ROOT.includes(path));
  if (unruled.length > 0) throw new Error(`eslint.config.js: no layer rule for ${unruled.join(', ')}`);
  return Object.entries(rules).map(([files, forbidden]) => ({
    files: [files],
    ignores: ['**/*.test.ts', '**/test-support/**', '**/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: forbidden.map((dir) => ({
            // files directly in src/ import layers as `./dir`, files in a layer as `../dir`
            regex: `^${files.endsWith('/**') ? '(\\.\\./)+' : '\\./'}${dir.replace('/', '\\/')}(/|\\.ts$)`,
            message: `${files.split('/')[1]} must not import ${dir} (layer rules: docs/ARCHITECTURE.md)`,
          })),
        },
      ],
    },
  }));
}
