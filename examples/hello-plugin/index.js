// @ts-check
// A third-party plugin written only against the public SDK. Load it on a node with
//   plugins:
//     hello:
//       module: ./path/to/hello-plugin/index.js
//       greeting: Hi
import { definePlugin, Type, FailedPreconditionError } from 'boxfleet/plugin';

export default definePlugin({
  id: 'hello',
  version: '1.0.0',
  agent: '>=0.1.0 <1',
  description: 'Greets people and counts how many it greeted.',
  config: Type.Object({
    greeting: Type.String({ default: 'Hello', minLength: 1 }),
    max_greetings: Type.Integer({ minimum: 1, default: 1000 }),
  }),
  commands: {
    greet: {
      description: 'Greets someone by name.',
      input: Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }),
      output: Type.Object({ message: Type.String(), count: Type.Integer() }),
    },
  },
  events: {
    greeted: { description: 'Someone was greeted.', schema: Type.Object({ name: Type.String() }) },
  },
  start(ctx) {
    let count = 0;
    return {
      commands: {
        greet: async ({ name }) => {
          if (count >= ctx.config.max_greetings) {
            throw new FailedPreconditionError(`already greeted ${count} people (max_greetings)`);
          }
          count += 1;
          ctx.emit('greeted', { name });
          return { message: `${ctx.config.greeting}, ${name}!`, count };
        },
      },
    };
  },
});
