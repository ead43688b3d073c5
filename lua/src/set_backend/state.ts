/**
 * Handles to the shared dicts. The dicts are shared by all workers; these
 * module-level references are per worker and set once when the module loads.
 */
import { HEALTH_DICT, META_DICT, METRICS_DICT, ROUTES_DICT } from "./contract";

function sharedDict(name: string): NgxSharedDict {
  const dict = ngx.shared[name];
  if (dict === undefined) {
    error("lua_shared_dict " + name + " is not declared in nginx.conf");
  }
  return dict;
}

export const routes = sharedDict(ROUTES_DICT);
export const meta = sharedDict(META_DICT);
export const health = sharedDict(HEALTH_DICT);
export const metricsDict = sharedDict(METRICS_DICT);
