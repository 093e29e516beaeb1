import { defineConfig } from 'vitest/config';

// Unit tests of the dashboard's logic (no browser: the browser tests are in e2e/).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
  },
});
