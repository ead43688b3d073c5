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
  const { results } = runLua("set_backend.hosts_file", [{ fn: "parseHostsFile", args: [text] }]);
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
