/** The coordinator's questions to the engineer, not tied to a worker's task: ask, read, answer. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { commonErrors, described, errorExamples } from '../src/schemas/common.js'
import { AnswerBody, Question, QuestionBody, QuestionId } from '../src/schemas/workflow.js'

const QuestionParams = Type.Object({ id: QuestionId })

const questions: FastifyPluginAsyncTypebox = async (app) => {
  app.post('/questions', {
    schema: {
      tags: ['coordinator'],
      operationId: 'askQuestion',
      summary: 'Ask the engineer a question that is not tied to a worker\'s task',
      description: 'The question joins the escalation queue (`GET /escalations`, kind `question`, with `questionId`) until the engineer ' +
        'answers it with `POST /questions/{id}/answer`; the answer is a `question.answered` event, which wakes `coord wait`. Optionally ' +
        'names a task it is about (the task is not held or changed).',
      body: QuestionBody,
      response: { 201: described(Question, 'The question, open.'), 404: errorExamples('The `taskId` names no task.', ['TASK_NOT_FOUND']), ...commonErrors },
    },
  }, async (request, reply) => reply.code(201).send(await app.lifecycle.ask(request.body)))

  app.get('/questions/:id', {
    schema: {
      tags: ['coordinator'],
      operationId: 'getQuestion',
      summary: 'A question and, once given, its answer',
      description: 'A question the coordinator asked with `POST /questions`: `answer` is null while it is open (listed in ' +
        '`GET /escalations`) and the engineer\'s answer once given.',
      params: QuestionParams,
      response: { 200: described(Question, 'The question.'), 404: errorExamples('No question has this id.', ['QUESTION_NOT_FOUND']), ...commonErrors },
    },
  }, async (request) => app.lifecycle.question(request.params.id))

  app.post('/questions/:id/answer', {
    schema: {
      tags: ['engineer'],
      operationId: 'answerQuestion',
      summary: 'Answer the coordinator\'s question',
      description: 'Answers an open question once (it leaves the escalation queue); a second answer is refused 409 ALREADY_ANSWERED.',
      params: QuestionParams,
      body: AnswerBody,
      response: {
        200: described(Question, 'The question with its answer.'),
        404: errorExamples('No question has this id.', ['QUESTION_NOT_FOUND']),
        409: errorExamples('It was answered already (its answer stands).', ['ALREADY_ANSWERED']),
        ...commonErrors,
      },
    },
  }, async (request) => app.lifecycle.answerQuestion(request.params.id, request.body))
}

export default questions
