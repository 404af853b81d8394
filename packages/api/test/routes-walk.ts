import type { Express } from 'express';

interface LayerLike {
  name?: string;
  slash?: boolean;
  rawPath?: string;
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: LayerLike[] };
}

/** Every `METHOD /path` the app registers, sub-routers included, as OpenAPI templates (`:id` -> `{id}`). */
export function registeredRoutes(app: Express): string[] {
  const found = new Set<string>();
  const walk = (stack: LayerLike[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const path of paths) {
          const template = (prefix + path).replace(/:([A-Za-z0-9_]+)/g, '{$1}');
          for (const [method, on] of Object.entries(layer.route.methods)) {
            if (on && method !== '_all') found.add(`${method.toUpperCase()} ${template}`);
          }
        }
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, layer.slash ? prefix : prefix + (layer.rawPath ?? ''));
      }
    }
  };
  walk((app as unknown as { router: { stack: LayerLike[] } }).router.stack, '');
  return [...found].sort();
}
