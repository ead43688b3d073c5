import DNS from "dns2";

const { Packet } = DNS;
import { freePort } from "../../scripts/lib/ports";

/**
 * A real DNS server on 127.0.0.1 (UDP) answering A records from a table the
 * test changes, with the TTL the test sets. Names it does not know get NXDOMAIN.
 */
export interface TestDns {
  address: string;
  records: Map<string, { addresses: string[]; ttl: number }>;
  queries: string[];
  close: () => Promise<void>;
}

const NXDOMAIN = 3;

export async function startTestDns(): Promise<TestDns> {
  const port = await freePort();
  const records = new Map<string, { addresses: string[]; ttl: number }>();
  const queries: string[] = [];
  const server = DNS.createUDPServer((request, send) => {
    const response = Packet.createResponseFromRequest(request);
    const question = request.questions[0];
    if (question !== undefined) {
      queries.push(`${question.name}/${question.type}`);
      const record = records.get(question.name.toLowerCase());
      if (record === undefined) {
        response.header.rcode = NXDOMAIN;
      } else if (question.type === Packet.TYPE.A) {
        for (const address of record.addresses) {
          // dns2 serializes plain records; its typings ask for its Resource class.
          const answer = { name: question.name, type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl: record.ttl, address };
          response.answers.push(answer as unknown as (typeof response.answers)[number]);
        }
      }
    }
    send(response);
  });
  await server.listen(port, "127.0.0.1");
  return {
    address: `127.0.0.1:${port}`,
    records,
    queries,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
