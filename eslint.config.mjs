// ESLint flat config: typescript-eslint's type-checked recommended set over src/, test/ and bench/
// (type information from tsconfig.json). Formatting is Prettier's (.prettierrc); `npm run lint`
// runs both, with --max-warnings 0.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** node:test's describe/it/test return promises the runner itself awaits. */
const NODE_TEST = {
  from: 'package',
  package: 'node:test',
  name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
};

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'images/**', 'state/**', '.lab/**'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [NODE_TEST] }],
      // Same convention as tsc's noUnusedParameters: a leading _ marks a deliberately unused name
      // (Express tells error handlers apart by their four parameters).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      // Store methods implement async interfaces without awaiting (SQLite is synchronous); keeping
      // them async turns a throw into the rejection callers handle.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Tests and benches poke at parsed JSON and child-process output: `any` there is the point.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  {
    // Plain CommonJS scripts: the npm install hook and the bin entry point.
    files: ['**/*.js', 'bin/kickstand'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'readonly', __dirname: 'readonly', process: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The web console: plain browser ES modules served as they are (docs/console.md).
    files: ['console/**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        [
          'window', 'document', 'location', 'fetch', 'EventSource', 'performance', 'requestAnimationFrame',
          'URL', 'console', 'setTimeout', 'clearTimeout',
        ].map((g) => [g, 'readonly']),
      ),
    },
  },
  { files: ['eslint.config.mjs'], extends: [tseslint.configs.disableTypeChecked] },
);
