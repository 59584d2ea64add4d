import { describe, expect, it } from 'vitest';
import { buildConsole } from '../../web/build.ts';

describe('web console build (web/build.ts)', () => {
  it('loads the entry with its static imports preloaded, and leaves the charting library to the chart pages', async () => {
    const build = await buildConsole();
    const html = new TextDecoder().decode(build.files.get('index.html'));
    const [entry, ...imports] = build.entryFiles;
    expect(html).toContain(`<script type="module" src="/${entry}"></script>`);
    expect(imports.length).toBeGreaterThan(0);
    for (const file of imports) expect(html).toContain(`<link rel="modulepreload" href="/${file}" />`);
    expect(html).not.toContain('%');
    // /config.json is fetched with the scripts (a same-origin fetch, as loadConfig's), not after them.
    expect(html).toContain('<link rel="preload" href="/config.json" as="fetch" crossorigin="anonymous" />');
    const firstPage = build.entryFiles.map((f) => new TextDecoder().decode(build.files.get(f)));
    // Observable Plot (its class name `plot-d6a7b5`) is in a chunk only the lab and lake pages import.
    const all = [...build.files]
      .filter(([f]) => f.endsWith('.js'))
      .map(([, b]) => new TextDecoder().decode(b));
    expect(all.some((js) => js.includes('plot-d6a7b5'))).toBe(true);
    expect(firstPage.some((js) => js.includes('plot-d6a7b5'))).toBe(false);
    expect(build.entryBytes).toBeLessThan(build.totalJsBytes / 3);
  }, 120_000);
});
