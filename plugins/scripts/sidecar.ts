// A script's sidecar (`<name>.json`): its description, its arguments as a JSON Schema, its timeout
// and the role that may run it; and how checked arguments become argv. Each declared argument is
// passed as `--name=value` in the schema's property order: an array as one `--name=item` per item,
// a boolean as `--name` when true and not at all when false, an absent one not at all. No shell
// ever sees them, so quotes and `$` in a value arrive as written.
import { compileValidator, InvalidArgumentError, Type, validate, type Static } from '../../agent-core/sdk.js';
import { MAX_TIMEOUT_S, ScriptRole } from './contract.js';

/** Argument names become `--name`: a letter first, so no name reads as a number or an option's value. */
const ARG_NAME = /^[a-z][a-z0-9_-]{0,63}$/;

const ArgsSchema = Type.Object(
  {
    type: Type.Unsafe<'object'>({ type: 'string', enum: ['object'] }),
    properties: Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown()), { default: {}, maxProperties: 64 }),
    required: Type.Optional(Type.Array(Type.String(), { maxItems: 64 })),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { default: { type: 'object' }, description: 'A JSON Schema of an object; each property one argument.' },
);

const Sidecar = Type.Object({
  description: Type.String({ minLength: 1, maxLength: 1000 }),
  args: ArgsSchema,
  timeout_s: Type.Number({ exclusiveMinimum: 0, maximum: MAX_TIMEOUT_S, default: 60 }),
  // A sidecar that does not say is for the owner only: the safe side.
  role: Type.Unsafe<Static<typeof ScriptRole>>({ ...ScriptRole, default: 'owner' }),
});
type SidecarFields = Static<typeof Sidecar>;

/** A sidecar read and checked, with its arguments' validator compiled. */
export interface Declared extends SidecarFields {
  /** Checks `args` (defaults filled in) and returns them as argv; InvalidArgumentError names the field. */
  argv(args: unknown): string[];
}

const SCALARS = ['string', 'integer', 'number'];

/** An argument argv cannot carry (an object, an array of arrays…) or name as `--name`, said for the sidecar's author. */
function unpassable(name: string, schema: Record<string, unknown>): string | undefined {
  if (!ARG_NAME.test(name)) return `args.properties.${name}: an argument's name must match ${ARG_NAME.source}`;
  const { type, items } = schema as { type?: unknown; items?: { type?: unknown } };
  if (type === 'boolean' || SCALARS.includes(type as string)) return undefined;
  if (type === 'array' && SCALARS.includes(items?.type as string)) return undefined;
  return `args.properties.${name}: type must be string, integer, number, boolean, or an array of string, integer or number (arguments are passed as argv)`;
}

/** Parses and checks a sidecar's text; throws InvalidArgumentError naming the file and field. */
export function parseSidecar(text: string, file: string): Declared {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`${file}: not JSON: ${(error as Error).message}`);
  }
  const sidecar = validate<SidecarFields>(Sidecar, parsed, file);
  const { properties } = sidecar.args;
  for (const [name, schema] of Object.entries(properties)) {
    const problem = unpassable(name, schema);
    if (problem) throw new InvalidArgumentError(`${file}: ${problem}`);
  }
  const undeclared = sidecar.args.required?.find((name) => !Object.hasOwn(properties, name));
  if (undeclared) throw new InvalidArgumentError(`${file}: args.required: ${undeclared} is not in args.properties`);
  let check: (value: unknown) => Record<string, unknown>;
  try {
    check = compileValidator(sidecar.args, 'input.args');
  } catch (error) {
    throw new InvalidArgumentError(`${file}: args: ${(error as Error).message}`);
  }
  return {
    ...sidecar,
    argv(args) {
      const values = check(args);
      return Object.keys(properties).flatMap((name) => {
        const value = values[name];
        if (value === undefined || value === false) return [];
        if (value === true) return [`--${name}`];
        return (Array.isArray(value) ? value : [value]).map((item) => {
          const text = String(item);
          // The kernel ends an argument at NUL; a script would see a different value than was sent.
          if (text.includes('\0')) throw new InvalidArgumentError(`input.args.${name}: must not contain a NUL character`);
          return `--${name}=${text}`;
        });
      });
    },
  };
}
