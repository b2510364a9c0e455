// The official openai Node SDK against the gateway, as an application
// would use it: upload a training file, tune a route with OpenAI's own
// parameters and metadata, read the job back, find it by its metadata,
// list the models.  Prints one JSON object for t/test_node_sdk.py.
import fs from "node:fs";
import OpenAI from "openai";

const client = new OpenAI({
  baseURL: process.env.FTGW_BASE_URL,
  apiKey: process.env.FTGW_API_KEY,
  maxRetries: 0,
  timeout: 30000,
});

const file = await client.files.create({
  file: fs.createReadStream(process.env.FTGW_TRAINING_FILE),
  purpose: "fine-tune",
});

const job = await client.fineTuning.jobs.create({
  model: process.env.FTGW_MODEL,
  training_file: file.id,
  hyperparameters: { n_epochs: 1, learning_rate_multiplier: 2 },
  metadata: { client: "node" },
});

const got = await client.fineTuning.jobs.retrieve(job.id);
const listed = await client.fineTuning.jobs.list({ metadata: { client: "node" } });
const models = await client.models.list();

let refused = null;
try {
  await client.fineTuning.jobs.create({ model: "no-such-route", training_file: file.id });
} catch (e) {
  refused = { status: e.status, param: e.param, code: e.code, name: e.constructor.name };
}

console.log(JSON.stringify({
  file,
  job,
  got,
  listed: listed.data.map((j) => j.id),
  models: models.data.map((m) => m.id),
  refused,
}));
