import { defaultClientConditions, defineConfig } from "vite";

/** The wbk-chat server during development (`npm start` at the root). */
const SERVER = "http://127.0.0.1:3000";

export default defineConfig({
  resolve: {
    // "wbk-source" first: workspace packages resolve to their TypeScript sources, so the page
    // needs no prior build of client-sdk or shared.
    conditions: ["wbk-source", ...defaultClientConditions],
  },
  build: { outDir: "dist", emptyOutDir: true },
  server: {
    // No changeOrigin: Host stays the dev server's, the same as the browser's Origin, so the
    // server sees same-origin requests and its CSRF check (DESIGN.md "Errors",
    // csrf_rejected) lets cookie-authenticated writes and socket upgrades through.
    proxy: {
      "/api": SERVER,
      "/collab": { target: SERVER, ws: true },
    },
  },
});
