import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // Workspace packages resolve to their TypeScript sources: tests need no build step.
    conditions: ["wbk-source"],
  },
  ssr: { resolve: { conditions: ["wbk-source"] } },
  test: {
    include: ["tests/**/*.test.ts"],
    // Suites start servers and browsers; on two cores they run one file at a time.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
