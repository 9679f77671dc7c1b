import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bodyParagraphs, diffBodies, diffSequences, diffSnapshots, diffWords, MAX_EDIT_LENGTH } from './revision-diff';

const joined = (pieces: { op: string; text: string }[], keep: string) =>
  pieces
    .filter((p) => p.op === 'same' || p.op === keep)
    .map((p) => p.text)
    .join('');

describe('revision diff', () => {
  it('marks the changed words of a sentence, removal before addition, and the pieces give both texts back', () => {
    const before = 'The ferry leaves at nine from the north pier.';
    const after = 'The ferry leaves at ten from the north pier today.';
    const pieces = diffWords(before, after);
    assert.deepEqual(pieces, [
      { op: 'same', text: 'The ferry leaves at ' },
      { op: 'removed', text: 'nine' },
      { op: 'added', text: 'ten' },
      { op: 'same', text: ' from the north ' },
      { op: 'removed', text: 'pier.' },
      { op: 'added', text: 'pier today.' },
    ]);
    assert.equal(joined(pieces, 'removed'), before);
    assert.equal(joined(pieces, 'added'), after);
  });

  it('compares a body paragraph by paragraph: unchanged ones stay whole, a rewritten one word by word', () => {
    const diff = diffBodies(
      '<p>Intro stays.</p><p>Old middle &amp; words.</p><p>Gone paragraph.</p><p>End.</p>',
      '<p>Intro stays.</p><p>New middle &amp; words.</p><p>End.</p><h2>Added heading</h2>',
    );
    assert.deepEqual(
      diff.map((p) => p.op),
      ['same', 'changed', 'removed', 'same', 'added'],
    );
    assert.deepEqual(diff[1].pieces, [
      { op: 'removed', text: 'Old' },
      { op: 'added', text: 'New' },
      { op: 'same', text: ' middle & words.' },
    ]);
    assert.equal(diff[4].pieces[0].text, 'Added heading');
  });

  it('reads paragraphs out of body HTML: blocks and line breaks split, tags dropped, references decoded', () => {
    assert.deepEqual(bodyParagraphs('<p>One<br>two &lt;b&gt;</p><ul><li>three</li></ul><img src="x" alt="A pier">'), [
      'One',
      'two <b>',
      'three',
      '[image: A pier]',
    ]);
  });

  it('shows a stretch past the edit bound as removed then added, without searching further', () => {
    const side = MAX_EDIT_LENGTH + 1;
    const a = Array.from({ length: side }, (_, i) => `a${i}`);
    const b = Array.from({ length: side }, (_, i) => `b${i}`);
    const runs = diffSequences(['same', ...a, 'tail'], ['same', ...b, 'tail']);
    assert.deepEqual(
      runs.map((r) => [r.op, r.items.length]),
      [
        ['same', 1],
        ['removed', side],
        ['added', side],
        ['same', 1],
      ],
    );
  });

  it('leaves the slug out: a restore keeps the current address, and older snapshots have none', () => {
    const diff = diffSnapshots({ title: 'A', slug: 'old-address' }, { title: 'A', slug: 'new-address' });
    assert.equal(diff.changed, false);
    assert.ok(!diff.fields.some((f) => f.field === 'slug'));
    assert.equal(diffSnapshots({ title: 'A' }, { title: 'A', slug: 'a' }).changed, false);
  });

  it('lists every field with what changed, a kind’s own fields included, notes left out', () => {
    const diff = diffSnapshots(
      {
        title: 'Harbour',
        summary: '',
        status: 'draft',
        featured: false,
        tags: ['port'],
        section: 'news',
        body: '<p>x</p>',
      },
      {
        title: 'Harbour news',
        summary: '',
        status: 'published',
        featured: false,
        tags: ['port', 'ferry'],
        section: 'news',
        body: '<p>x</p>',
        notes: [{ kind: 'correction' }],
      },
    );
    const changed = diff.fields.filter((f) => f.changed).map((f) => [f.field, f.before, f.after]);
    assert.deepEqual(changed, [
      ['title', 'Harbour', 'Harbour news'],
      ['status', 'draft', 'published'],
      ['tags', 'port', 'port, ferry'],
    ]);
    assert.ok(diff.fields.some((f) => f.field === 'section' && !f.changed));
    assert.ok(!diff.fields.some((f) => f.field === 'notes'));
    assert.equal(diff.changed, true);
    assert.equal(diffSnapshots({ title: 'a', body: '<p>b</p>' }, { title: 'a', body: '<p>b</p>' }).changed, false);
  });
});

describe('revision diff of phrases', () => {
  it('reads a rewritten phrase as one removal then one addition, not word pairs cut by a shared space', () => {
    assert.deepEqual(diffWords('Tickets at the pier.', 'Tickets online only.'), [
      { op: 'same', text: 'Tickets ' },
      { op: 'removed', text: 'at the pier.' },
      { op: 'added', text: 'online only.' },
    ]);
    assert.deepEqual(diffWords('a b c d', 'a x c y'), [
      { op: 'same', text: 'a ' },
      { op: 'removed', text: 'b' },
      { op: 'added', text: 'x' },
      { op: 'same', text: ' c ' },
      { op: 'removed', text: 'd' },
      { op: 'added', text: 'y' },
    ]);
  });
});
