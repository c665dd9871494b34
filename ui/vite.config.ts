// The UI is served by tejun server under {base}ui/, whatever its base URL: every asset path is
// relative. No inline script: the page's Content-Security-Policy forbids them.
import { defineConfig } from "vite";

export default defineConfig({
  base: "./",
  build: {
    outDir: process.env.TEJUN_UI_OUT ?? "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: "es2022",
    reportCompressedSize: false,
  },
});
