// GraphiQL for the Footfall gateway, from the package's own assets (no CDN). The page is served behind the
// login, so the session cookie goes with every request; a bearer token saved in localStorage
// ("footfall.token") is sent as well, and on websockets in connection_init.
(function () {
  const url = window.location.href.split("?")[0].split("#")[0];
  const wsUrl = url.replace(/^http/, "ws");
  const token = localStorage.getItem("footfall.token");
  const org = localStorage.getItem("footfall.org");
  const headers = {};
  if (token) headers["Authorization"] = "Bearer " + token;
  if (org) headers["X-Footfall-Org"] = org;
  const connectionParams = {};
  if (token) connectionParams.authorization = "Bearer " + token;
  if (org) connectionParams.org = org;
  const fetcher = GraphiQL.createFetcher({
    url: url,
    subscriptionUrl: wsUrl,
    headers: headers,
    wsConnectionParams: connectionParams,
    fetch: (input, init) => fetch(input, Object.assign({}, init, { credentials: "same-origin" })),
  });
  const root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(React.createElement(GraphiQL, { fetcher: fetcher, defaultEditorToolsVisibility: true }));
})();
