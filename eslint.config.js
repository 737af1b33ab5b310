// @ts-check
import tseslint from 'typescript-eslint';

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
    // the API may use the pure cursor codec and id validators of translators/common, nothing legacy-specific;
    // infrastructure and configuration reach it only through the composition root (gateway.ts)
    'src/api/**': ['adapters', 'simulators', 'translators/tmo', 'translators/crm', 'gateway', 'infra', 'config'],
    'src/simulators/**': ['api', 'jobs', 'adapters', 'translators', 'domain', 'gateway'],
    // infrastructure (logger, Redis, metrics) serves every layer and uses none of them but domain and config
    'src/infra/**': ['api', 'jobs', 'adapters', 'translators', 'simulators', 'gateway'],
    // only the environment: config imports no layer
    'src/config.ts': ['domain', 'translators', 'adapters', 'api', 'jobs', 'infra', 'simulators', 'gateway'],
  }),
);

/** One config block per layer forbidding imports of the listed top-level folders of src/. */
function layers(rules) {
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
