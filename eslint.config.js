// Lint: typescript-eslint's type-aware recommended rules over everything we write.
// Formatting is Prettier's job (eslint-config-prettier turns off the rules that would clash).
import js from '@eslint/js';
import globals from 'globals';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', '**/dist/', 'data/', 'coverage/', 'bench/results/', 'test/artifacts/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // TypeScript checks names itself (and knows Node's globals); the JS scripts get the Node globals above.
      'no-undef': 'off',
      // Store and provider implementations are `async` without awaiting on purpose: they implement
      // a Promise interface synchronously, and `async` turns a throw into a rejection.
      '@typescript-eslint/require-await': 'off',
      // Unused names are errors, except a leading underscore that says "deliberately unused".
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // Size limits that hold (issue 23): a file a newcomer can read in one sitting, a function that fits
    // on a screen. Counted as written: blank lines and comments count too.
    files: ['src/**', 'standins/**', 'bench/**', 'scripts/**', 'packages/*/src/**', 'examples/**'],
    rules: {
      'max-lines': ['error', { max: 300 }],
      'max-lines-per-function': ['error', { max: 60 }],
    },
  },
  {
    // Tests read as specifications: a file holds one behaviour's specification, at most 400 lines.
    files: ['test/**', 'packages/*/test/**'],
    rules: { 'max-lines': ['error', { max: 400 }] },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  prettier,
);
