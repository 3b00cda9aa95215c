// Types of bench/github-routes.mjs, for bench/routing.ts and bench/apps/routes.ts.
export declare const ROUTES: ReadonlyArray<readonly [method: string, rule: string]>;
export declare const REQUESTS: ReadonlyArray<readonly [method: string, path: string, rule: string | null, values: readonly string[]]>;
export declare function paramNames(rule: string): string[];
export declare function tsgiRule(rule: string): string;
export declare function routeBody(rule: string, values: ReadonlyArray<string | undefined>): string;
export declare const ROUTE_TYPE: string;
export declare const NOT_FOUND_TYPE: string;
export declare const NOT_FOUND_BODY: string;
