// CPU descriptions handed to virsh's hypervisor-cpu-compare/-baseline: each
// checked before it is written (size, exactly one <cpu> element), written to
// a private temporary file virsh reads (0600, removed after the call).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidArgumentError } from '../../common/errors.ts';
import { splitCpuXmls } from './parse-cpu.ts';

const MAX_CPU_XML_BYTES = 256 * 1024;

/** `xml` when it is one <cpu> element of a sane size; else InvalidArgument naming `field`. */
export function checkCpuXml(field: string, xml: string): string {
  if (typeof xml !== 'string' || xml.length === 0) throw new InvalidArgumentError(field, 'empty CPU description');
  if (Buffer.byteLength(xml) > MAX_CPU_XML_BYTES) throw new InvalidArgumentError(field, `larger than ${MAX_CPU_XML_BYTES} bytes`);
  if (splitCpuXmls(xml).length !== 1) throw new InvalidArgumentError(field, 'must hold exactly one <cpu> element');
  return xml;
}

/** Runs `fn` with `content` in a fresh file under `tmpDir` (a directory of its own, removed after). */
export async function withCpuFile<T>(tmpDir: string, content: string, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpDir, 'drydock-cpu-'));
  const file = join(dir, 'cpu.xml');
  try {
    await writeFile(file, content, { mode: 0o600 });
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
