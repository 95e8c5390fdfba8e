// Richer panels first-party plugins add to the node page, by plugin id: the element's tag name and
// the chunk that defines it (loaded the first time a node running that plugin is shown). A panel
// element is given `nodeId`, `plugin` (its Describe entry) and `adminRole`, and uses what it needs;
// the generic command forms stay below it.
export const PLUGIN_PANELS: Record<string, { element: string; load: () => Promise<unknown> }> = {
  'singbox-config': { element: 'bf-singbox-panel', load: () => import('./bf-singbox-panel.js') },
};
