/**
 * Parses /etc/hosts and /etc/resolv.conf (and the SET_BACKEND_RESOLVERS
 * setting). Pure Lua string work, no ngx, so the unit tests run it under
 * plain LuaJIT.
 */

/** name -> address; the first IPv4 address wins, else the first IPv6 one in brackets. */
export function parseHostsFile(text: string): LuaTable<string, string> {
  const table = new LuaTable<string, string>();
  const ipv6 = new LuaTable<string, string>();
  for (const [line] of string.gmatch(text, "[^\n]+")) {
    const [content] = string.gsub(line as string, "#.*$", "");
    let address: string | undefined = undefined;
    for (const [word] of string.gmatch(content, "%S+")) {
      if (address === undefined) {
        address = word as string;
        continue;
      }
      const name = string.lower(word as string);
      if (string.find(address, ":", 1, true)[0] !== undefined) {
        if (!ipv6.has(name)) {
          ipv6.set(name, "[" + address + "]");
        }
      } else if (!table.has(name)) {
        table.set(name, address);
      }
    }
  }
  for (const [name, address] of ipv6) {
    if (!table.has(name)) {
      table.set(name, address);
    }
  }
  return table;
}

/** "a[:p],b" or resolv.conf text -> [[address, port], ...]. */
export function parseNameservers(setting: string, resolvConf: string): Array<[string, number]> {
  const servers: Array<[string, number]> = [];
  if (setting !== "") {
    for (const [item] of string.gmatch(setting, "[^,%s]+")) {
      const [address, port] = string.match(item as string, "^([^:]+):?(%d*)$");
      if (address !== undefined) {
        servers.push([address, port === undefined || port === "" ? 53 : (tonumber(port) as number)]);
      }
    }
    return servers;
  }
  for (const [address] of string.gmatch(resolvConf, "\n?%s*nameserver%s+([^%s#]+)")) {
    servers.push([address as string, 53]);
  }
  return servers;
}
