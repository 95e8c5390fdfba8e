import { clearFaultTable, formatFaultTable } from './fault-table.js';

/** Vitest global setup of the real set: starts an empty fault table and prints it after the run. */
export default function setup(): () => void {
  clearFaultTable();
  return () => {
    const table = formatFaultTable();
    if (table) console.log(`\n${table}\n`);
  };
}
