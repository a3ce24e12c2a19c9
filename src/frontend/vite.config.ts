import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// FRONTEND_HOST, FRONTEND_PORT and API_URL come from the stack's config (bin/with-config).
const apiUrl = process.env.API_URL ?? "http://127.0.0.1:8001";

export default defineConfig({
  plugins: [react()],
  server: {
    host: process.env.FRONTEND_HOST ?? "127.0.0.1",
    port: Number(process.env.FRONTEND_PORT ?? 5173),
    strictPort: true,
    proxy: {
      "/api": { target: apiUrl, changeOrigin: true },
      "/health": { target: apiUrl, changeOrigin: true },
    },
  },
});
