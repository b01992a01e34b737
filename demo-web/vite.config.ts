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
    // No changeOrigin: the server's CSRF check compares Origin with Host, and both must
    // stay the dev server's for cookie-authenticated writes and socket upgrades.
    proxy: {
      "/api": SERVER,
      "/collab": { target: SERVER, ws: true },
    },
  },
});
