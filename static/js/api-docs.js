// Renders the OpenAPI description on /api/docs with Swagger UI (loaded before this script).
// "Try it out" sends the browser's own cookies; a state-changing call also needs the
// X-CSRF-TOKEN header, which the interceptor copies from the readable CSRF cookie.
import { readCookie } from "./api.js";

function addCsrfHeader(request) {
  const method = (request.method || "GET").toUpperCase();
  if (!["GET", "HEAD", "OPTIONS"].includes(method) && !request.headers["X-CSRF-TOKEN"]) {
    const refresh = new URL(request.url, window.location.href).pathname === "/api/auth/refresh";
    const token = readCookie(refresh ? "csrf_refresh_token" : "csrf_access_token");
    if (token) request.headers["X-CSRF-TOKEN"] = token;
  }
  return request;
}

const root = document.getElementById("swagger-ui");
window.SwaggerUIBundle({
  url: root.dataset.url,
  domNode: root,
  deepLinking: true,
  docExpansion: "list",
  defaultModelsExpandDepth: 0,
  tryItOutEnabled: false,
  withCredentials: true,
  validatorUrl: null,
  requestInterceptor: addCsrfHeader,
});
