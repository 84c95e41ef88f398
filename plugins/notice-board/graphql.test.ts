// The notice board through the GraphQL API: staff post, anyone reads, the notice is another
// city's nothing, and a city that disables the board finds none of its fields or objects.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGraphQL, type GraphQLAnswer, type GraphQLHarness } from "../../tests/support/graphql";

let h: GraphQLHarness;

/** The data of an answer that must have no errors. */
function answerOf<T>(answer: GraphQLAnswer): T {
  expect(answer.body?.errors, answer.text).toBeUndefined();
  return answer.body?.data as T;
}

beforeAll(async () => {
  h = await startGraphQL();
});

afterAll(async () => h?.close());

const POST = `mutation Post($input: NoticeInput!) {
  postNotice(input: $input) { __typename ... on Notice { id title { text(locale: "en") } } ... on Error { code message } }
}`;

describe("the notice board's API", () => {
  it("lets staff post, anyone read, and keeps each city's notices to itself", async () => {
    const staff = await h.tokenFor("staff", h.paris);
    const posted = answerOf<{ postNotice: { __typename: string; id: string } }>(
      await h.request({ token: staff, at: h.paris.slug, query: POST, variables: { input: { title: { en: "Bridge closed" } } } }),
    );
    expect(posted.postNotice.__typename).toBe("Notice");

    const read = answerOf<{ notices: { id: string; title: { text: string } }[] }>(
      await h.request({ at: h.paris.slug, query: `{ notices { id title { text(locale: "en") } } }` }),
    );
    // Newest first: the one just posted, then the city's earlier ones.
    expect(read.notices[0]).toEqual({ id: posted.postNotice.id, title: { text: "Bridge closed" } });

    // Budapest's board is its own; Paris' notice by id there is not found.
    const elsewhere = await h.request({ at: h.budapest.slug, query: `{ notices { id } }` });
    expect(answerOf<{ notices: { id: string }[] }>(elsewhere).notices.map((notice) => notice.id)).not.toContain(posted.postNotice.id);
    const stolen = await h.request({ at: h.budapest.slug, query: `query($id: ID!) { node(id: $id) { id } }`, variables: { id: posted.postNotice.id } });
    expect(stolen.body?.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");

    // A resident may not post; a title in a language the city does not use is refused.
    const resident = await h.tokenFor("resident", h.paris);
    const refused = await h.request({ token: resident, at: h.paris.slug, query: POST, variables: { input: { title: { en: "x" } } } });
    expect(refused.body?.errors?.[0]?.extensions?.code).toBe("FORBIDDEN");
    const foreign = answerOf<{ postNotice: { code: string } }>(
      await h.request({ token: staff, at: h.paris.slug, query: POST, variables: { input: { title: { zh: "桥" } } } }),
    );
    expect(foreign.postNotice.code).toBe("VALIDATION_FAILED");
  });

  it("answers NOT_FOUND for the board's fields and objects once the city disables it", async () => {
    const admin = await h.tokenFor("admin", h.paris);
    const [notice] = answerOf<{ notices: { id: string }[] }>(await h.request({ at: h.paris.slug, query: `{ notices { id } }` })).notices;
    const off = await h.request({ token: admin, at: h.paris.slug, query: `mutation { disableService(pluginId: "notice-board") { ... on CityService { state } } }` });
    expect(answerOf<{ disableService: { state: string } }>(off).disableService.state).toBe("disabled");
    try {
      for (const query of [`{ notices { id } }`, `query { node(id: "${notice!.id}") { id } }`]) {
        const answer = await h.request({ token: admin, at: h.paris.slug, query });
        expect(answer.body?.errors?.[0]?.extensions?.code, query).toBe("NOT_FOUND");
      }
      // Budapest still runs it.
      expect(answerOf<{ notices: unknown[] }>(await h.request({ at: h.budapest.slug, query: `{ notices { id } }` })).notices).toBeInstanceOf(Array);
    } finally {
      await h.request({ token: admin, at: h.paris.slug, query: `mutation { enableService(pluginId: "notice-board") { __typename } }` });
    }
  });
});
