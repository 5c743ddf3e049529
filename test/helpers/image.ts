/**
 * What the Docker image sets for the Node runtime (its ENV NODE_OPTIONS: the heap limit that sizes
 * V8's growth), read from the Dockerfile, so that the benchmarks and the topology run start the
 * app as the image does.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dockerfile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../Dockerfile');

export const IMAGE_NODE_OPTIONS =
  /^\s*(?:ENV\s+)?NODE_OPTIONS=("[^"]*"|\S+)/m.exec(fs.readFileSync(dockerfile, 'utf8'))?.[1]?.replace(/^"|"$/g, '') ??
  '';
