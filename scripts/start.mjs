// `npm start`: the built server (dist/server.js, the bundle the Docker image runs), with ./.env
// loaded first when there is one. Without a .env it runs on the environment alone. Variables
// already set in the environment win over the file, as with `node --env-file=.env`.
import fs from 'node:fs';

if (fs.existsSync('.env')) process.loadEnvFile('.env');
const { main } = await import('../dist/server.js');
await main();
