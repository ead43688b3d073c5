import { runLua } from "../helpers/lua";

describe("the control plane's URL, as the edge's HTTP client reads it", () => {
  it.each([
    ["a name and a port", "http://control-plane:8081", ["control-plane", 8081, "/"]],
    ["an IPv4 address, with a path", "http://10.0.0.5:8081/api", ["10.0.0.5", 8081, "/api"]],
    ["an IPv6 address in brackets, which it keeps", "http://[fd00::1]:8081", ["[fd00::1]", 8081, "/"]],
    ["the IPv6 loopback, with a path", "http://[::1]:9000/base/", ["[::1]", 9000, "/base/"]],
  ])("splits %s", (_name, url, expected) => {
    const { results } = runLua("set_backend.http_client", [{ fn: "parseUrl", args: [url] }]);
    const result = results[0];
    expect([result?.value, result?.second, result?.third]).toEqual(expected);
  });

  it.each([
    ["https", "https://control-plane:8081"],
    ["no port", "http://control-plane"],
    ["an IPv6 address without brackets", "http://fd00::1:8081"],
    ["a port past 65535", "http://control-plane:70000"],
    ["port 0", "http://control-plane:0"],
  ])("refuses %s", (_name, url) => {
    const { results } = runLua("set_backend.http_client", [{ fn: "parseUrl", args: [url] }]);
    expect(results[0]?.value).toBeNull();
    expect(results[0]?.second).toContain("expected http://host:port[/path]");
  });
});
