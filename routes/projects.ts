/** Projects: list them with their progress; close one (no more tasks are coming). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { commonErrors, described, ProjectName } from '../src/schemas/common.js'
import { ProjectSummary } from '../src/schemas/workers.js'

const projects: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/projects', {
    schema: {
      tags: ['coordinator'],
      operationId: 'listProjects',
      summary: 'List projects with task counts by state',
      description: 'A project exists once a task was posted to it or it was closed; `done` = closed and every task finished.',
      response: { 200: described(Type.Object({ projects: Type.Array(ProjectSummary) }), 'Every project, oldest first.'), ...commonErrors },
    },
  }, async () => ({ projects: await app.lifecycle.listProjects() }))

  app.post('/projects/:project/close', {
    schema: {
      tags: ['coordinator'],
      operationId: 'closeProject',
      summary: 'Say no more tasks are coming for a project',
      description: 'Once the project is closed and every task is completed, failed or canceled, it is done: `project.finished` is emitted ' +
        'and workers polling it get 410 PROJECT_FINISHED. Closing twice is a no-op. Same as `close: true` on POST /tasks.',
      params: Type.Object({ project: ProjectName }),
      body: Type.Object({}, { additionalProperties: false, description: 'Optional: closing takes no parameters. A body, if sent, is `{}`.' }),
      response: { 200: described(ProjectSummary, 'The project, now closed.'), ...commonErrors },
    },
    // Documented as not required; `curl -X POST .../close` with no body is the usual call.
    config: { optionalBody: true },
    preValidation: async (request) => { request.body ??= {} },
  }, async (request) => app.lifecycle.closeProject(request.params.project))
}

export default projects
