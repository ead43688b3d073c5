import { runLua } from "../helpers/lua";

describe("/etc/hosts parsing in the generated Lua", () => {
  const text = [
    "# comment line",
    "127.0.0.1\tlocalhost",
    "::1     localhost ip6-localhost ip6-loopback",
    "10.0.0.5 files-1.internal Files-2.Internal # trailing comment",
    "fe00::2 only-v6",
    "10.0.0.9 files-1.internal",
    "",
  ].join("\n");
  const { results } = runLua("set_backend.system_files", [{ fn: "parseHostsFile", args: [text] }]);
  const table = results[0]?.value as Record<string, string>;

  it("prefers the IPv4 address when a name has both", () => {
    expect(table["localhost"]).toBe("127.0.0.1");
  });
  it("keeps the first address of a name listed twice", () => {
    expect(table["files-1.internal"]).toBe("10.0.0.5");
  });
  it("folds names to lower case", () => {
    expect(table["files-2.internal"]).toBe("10.0.0.5");
  });
  it("brackets an IPv6-only name so nginx can use it as host:port", () => {
    expect(table["only-v6"]).toBe("[fe00::2]");
  });
  it("skips comments", () => {
    expect(Object.keys(table).sort()).toEqual(["files-1.internal", "files-2.internal", "ip6-localhost", "ip6-loopback", "localhost", "only-v6"]);
  });
});

describe("DNS servers from the setting or /etc/resolv.conf", () => {
  const resolvConf = "# generated\nsearch example.internal\nnameserver 10.0.0.53\nnameserver  fd00::53 # v6\noptions ndots:1\n";
  it.each([
    ["the setting wins over resolv.conf, port 53 by default", "127.0.0.1:5353, 10.1.1.1", [["127.0.0.1", 5353], ["10.1.1.1", 53]]],
    ["resolv.conf's nameserver lines when the setting is empty", "", [["10.0.0.53", 53], ["fd00::53", 53]]],
  ])("%s", (_name, setting, expected) => {
    const { results } = runLua("set_backend.system_files", [{ fn: "parseNameservers", args: [setting, resolvConf] }]);
    expect(results[0]?.value).toEqual(expected);
  });
});
