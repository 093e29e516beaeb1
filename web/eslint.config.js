// ESLint for the dashboard: `npm run lint` (ctest web_lint) fails on any finding, warnings included.
// TypeScript (src/, test/, the Vite/Vitest configs) gets typescript-eslint's type-aware recommended
// rules; the plain-JS Node scripts (e2e/, this file) get ESLint's recommended rules.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'node_modules/'] },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      globals: globals.browser,
      parserOptions: {
        projectService: {
          // The configs are outside tsconfig.json's include (tsc --noEmit checks src/ and test/).
          allowDefaultProject: ['vite.config.ts', 'vitest.config.ts'],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    // The browser tests hand functions to Playwright (page.evaluate, waitForFunction,
    // addInitScript) that run in the page, where these exist.
    files: ['e2e/**'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly', location: 'readonly' } },
  },
);
