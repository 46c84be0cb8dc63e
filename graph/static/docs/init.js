// Swagger UI for the Footfall REST API. The page is behind the login (the session cookie is sent); a bearer
// token saved in localStorage ("footfall.token") and an organisation ("footfall.org", platform admins only)
// are added to each request.
window.ui = SwaggerUIBundle({
  url: document.body.dataset.openapi,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
  requestInterceptor: (req) => {
    const token = localStorage.getItem("footfall.token");
    const org = localStorage.getItem("footfall.org");
    if (token && !req.headers["Authorization"]) req.headers["Authorization"] = "Bearer " + token;
    if (org && !req.headers["X-Footfall-Org"]) req.headers["X-Footfall-Org"] = org;
    return req;
  },
});
