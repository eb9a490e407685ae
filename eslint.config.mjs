// Lint rules for the TypeScript sources, tests and scripts (`npm run lint`, part of `npm test`): ESLint's and
// typescript-eslint's recommended sets; Prettier (.prettierrc.json) owns the layout except the longest lines.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'node_modules/',
      'datasets/',
      'notebooks/',
      'results/',
      'bench-results/',
      'scratch/',
      'tmp/',
      '**/*.ipynb',
      'test/browser/widgets/.build/',
      'test-artifacts/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Prettier wraps code at 150 columns but not strings; a message stays on one line, searchable.
      'max-len': [
        'error',
        { code: 150, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreUrls: true, ignoreRegExpLiterals: true, ignoreComments: false },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
    },
  },
  {
    // The package compiles to CommonJS and loads on demand what is optional or heavy (a backend's package, resvg,
    // the TypeScript compiler, mixprec itself inside a cell) and package.json files: require() is the tool for that.
    files: ['**/*.js', '**/*.cjs', 'src/**/*.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
