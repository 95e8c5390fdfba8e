// GET /api/v1/info (viewer): the hub's version and the address its links start with, for the
// dashboard to show links as the hub gives them out.
import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AGENT_VERSION } from '../../agent-core/common/version.js';

const InfoOut = Type.Object({
  version: Type.String(),
  public_url: Type.String({ description: 'The public_url setting, or else how this request reached the hub (protocol and host).' }),
});

const routes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/', { config: { role: 'viewer' }, schema: { response: { 200: InfoOut } } }, async (request) => ({
    version: AGENT_VERSION,
    public_url: request.publicUrl,
  }));
};

export default routes;
