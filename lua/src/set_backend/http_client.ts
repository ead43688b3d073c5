/**
 * Just enough HTTP/1.0 over an ngx cosocket to GET a snapshot from the
 * control plane. Neither Debian nor the official OpenResty image ships
 * lua-resty-http, and this one request (no keepalive, no chunking: HTTP/1.0
 * makes the server close after the body) does not justify vendoring it.
 */

/**
 * Splits "http://host:port/path" into its parts; only plain http is
 * supported. An IPv6 address is written in brackets, http://[fd00::1]:8081,
 * and its host keeps them: that is how a cosocket connects to it and how
 * the Host header names it.
 */
export function parseUrl(url: string): LuaMultiReturn<[string, number, string] | [undefined, string, undefined]> {
  let [host, port, path] = string.match(url, "^http://([^:/%[%]]+):(%d+)(/?.*)$");
  if (host === undefined) {
    [host, port, path] = string.match(url, "^http://(%[[%x:.]+%]):(%d+)(/?.*)$");
  }
  const portNumber = tonumber(port);
  if (host === undefined || portNumber === undefined || portNumber < 1 || portNumber > 65535) {
    return $multi(undefined, "expected http://host:port[/path], got '" + url + "'", undefined);
  }
  return $multi(host, portNumber, path === undefined || path === "" ? "/" : path);
}

export interface HttpResponse {
  status: number;
  body: string;
}

/**
 * GETs baseUrl + path with extra headers, connecting to the address that
 * `resolve` gives for the URL's host. Runs only where cosockets are allowed
 * (timers, content).
 */
export function httpGet(
  baseUrl: string,
  path: string,
  headers: { [name: string]: string },
  timeoutMs: number,
  resolve: (this: void, host: string) => LuaMultiReturn<[string, undefined] | [undefined, string]>,
): LuaMultiReturn<[HttpResponse, undefined] | [undefined, string]> {
  const [host, port, basePath] = parseUrl(baseUrl);
  if (host === undefined) {
    return $multi(undefined, port);
  }
  const [address, resolveErr] = resolve(host);
  if (address === undefined) {
    return $multi(undefined, resolveErr);
  }
  const prefix = basePath === "/" ? "" : basePath;
  const socket = ngx.socket.tcp();
  socket.settimeouts(timeoutMs, timeoutMs, timeoutMs);
  const [connected, connectErr] = socket.connect(address, port);
  if (connected === undefined) {
    return $multi(undefined, "connect to " + host + ":" + port + " failed: " + connectErr);
  }
  let request = "GET " + prefix + path + " HTTP/1.0\r\nHost: " + host + ":" + port + "\r\nAccept: application/json\r\n";
  for (const [name, value] of pairs(headers)) {
    request = request + name + ": " + value + "\r\n";
  }
  const [sent, sendErr] = socket.send(request + "\r\n");
  if (sent === undefined) {
    socket.close();
    return $multi(undefined, "send failed: " + sendErr);
  }
  const [statusLine, statusErr] = socket.receive("*l");
  if (statusLine === undefined) {
    socket.close();
    return $multi(undefined, "no status line: " + statusErr);
  }
  const [statusText] = string.match(statusLine, "^HTTP/%d%.%d (%d%d%d)");
  if (statusText === undefined) {
    socket.close();
    return $multi(undefined, "bad status line: " + statusLine);
  }
  // Headers are not needed: the body runs until the server closes.
  while (true) {
    const [line, lineErr] = socket.receive("*l");
    if (line === undefined) {
      socket.close();
      return $multi(undefined, "headers cut short: " + lineErr);
    }
    if (line === "") {
      break;
    }
  }
  const [body, bodyErr] = socket.receive("*a");
  socket.close();
  if (body === undefined) {
    return $multi(undefined, "body cut short: " + bodyErr);
  }
  return $multi({ status: tonumber(statusText) as number, body: body }, undefined);
}
