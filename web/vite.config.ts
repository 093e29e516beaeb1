import { defineConfig } from 'vite';

// The dashboard is static files that `truce serve` serves at / (web/dist). Relative asset URLs let
// it also work behind a reverse proxy under a sub-path. Nothing is fetched from the internet.
export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1024,
  },
});
