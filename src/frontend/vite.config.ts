import { defineConfig, type ProxyOptions } from "vite";
import react from "@vitejs/plugin-react";
import { compression, defineAlgorithm } from "vite-plugin-compression2";

// FRONTEND_HOST, FRONTEND_PORT and API_URL come from the stack's config (bin/with-config).
const apiUrl = process.env.API_URL ?? "http://127.0.0.1:8001";

// A client's own X-Forwarded-* (and Forwarded) headers never reach the API: were the API told to
// trust this proxy, a client could name any address and walk around the per-IP rate limits.
const dropForwardedHeaders: ProxyOptions["configure"] = (server) => {
  server.on("proxyReq", (proxyReq) => {
    for (const name of proxyReq.getHeaderNames()) {
      if (name.startsWith("x-forwarded-") || name === "forwarded") proxyReq.removeHeader(name);
    }
  });
};

// "/api/" with its slash: a bare "/api" prefix would also send the app's own /api-keys page to the API.
const proxy = {
  "/api/": { target: apiUrl, changeOrigin: true, configure: dropForwardedHeaders },
  "/health": { target: apiUrl, changeOrigin: true, configure: dropForwardedHeaders },
};

export default defineConfig({
  plugins: [
    react(),
    // dist/ also gets .gz and .br next to every text file: the API (src/api/static.py) sends the one
    // the browser accepts, compressed once at build time at the highest level, not per request.
    compression({
      algorithms: [defineAlgorithm("gzip", { level: 9 }), defineAlgorithm("brotliCompress")],
      include: /\.(js|css|html|svg|json|txt|map)$/,
      threshold: 0,
      skipIfLargerOrEqual: true,
    }),
  ],
  server: {
    host: process.env.FRONTEND_HOST ?? "127.0.0.1",
    port: Number(process.env.FRONTEND_PORT ?? 5173),
    strictPort: true,
    proxy,
  },
  // `vite preview` (the benchmark, a production-like check) serves dist/ with the same proxy.
  preview: {
    host: process.env.FRONTEND_HOST ?? "127.0.0.1",
    port: Number(process.env.FRONTEND_PORT ?? 4173),
    strictPort: true,
    proxy,
  },
});
