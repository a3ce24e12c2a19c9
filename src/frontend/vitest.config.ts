import react from "@vitejs/plugin-react";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [react()],
  test: {
    environment: "happy-dom",
    environmentOptions: { happyDOM: { url: "http://localhost:5173/" } },
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
    restoreMocks: true,
    unstubGlobals: true,
    // One happy-dom window and one module registry per worker, not per file: a fifth of the CPU
    // (each file's fresh window and re-imported React and Testing Library were most of it). The
    // tests share nothing through it: src/test/setup.ts empties the DOM, sessionStorage and the
    // URL after every test, and restoreMocks/unstubGlobals undo mocks and stubbed globals.
    isolate: false,
  },
});
