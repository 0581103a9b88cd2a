"""Which candidate a judge answer chooses: whole tokens and phrases, and what the text concludes.

The chooser's prompt ends with ``The correct answer is candidate_``, so a completion model writes
``2``; an instruction or chat model writes ``(2)``, ``Candidate 2``, ``Answer: 2``, ``the second
candidate``, or a verdict such as ``Candidate 1 is wrong; candidate 2 is correct.``. A careful reader
takes what the text concludes:

1. an explicit conclusion ("the answer is 2", "I choose candidate 2") names the choice;
2. else a candidate called right (and not also wrong) is the choice;
3. else, when one candidate is called wrong and the other is not, the other is chosen (elimination);
4. else a text that names exactly one candidate chooses it; one that names both, or none, is no
   answer, and says why.

Candidates named together share what is said of them: "both candidate 1 and candidate 2 are
correct" calls both right, "neither candidate 1 nor candidate 2 is right" calls both wrong, and
"candidate 1 or candidate 2 is right" (a hedge: "I am not sure whether ...") concludes nothing, even
after "the answer is". "Less" turns a verdict around: "candidate 1 is less accurate than candidate
2" calls candidate 1 the worse one; "candidate 1 is as accurate as candidate 2" says it of both.

What the answer does not assert is not its verdict: a question ("Maybe candidate 1?"; one answered
"Yes." or "No." is asserted or turned around), what it wonders ("whether candidate 1 is right"),
what the argument is said to claim ("the argument claims candidate 1 is better", "candidate 1 is what
the argument says"), "partially correct", "seems right", "might be correct", and a verdict whose
clause names something else before it ("The argument is wrong: candidate 2." is 2; a label,
"Incorrect: candidate 1.", speaks of the candidate after it). A negation turns a verdict ("I don't
think candidate 1 is correct", "cannot be", "far from", "fewer errors"), and a choice negated is a
verdict against ("I wouldn't pick candidate 1", "isn't candidate 1"). A conclusion drawn ("..., so
candidate 2 is correct", "Hence, 2.") is explicit, and "the wrong answer is candidate 1" none, as is one
its own clause calls wrong ("Answer: candidate 2 is wrong" is a verdict against 2); a correction ("1, no
wait, 2", "2 — no, 1") and an "or" before a candidate ("candidate 2, or maybe candidate 1") name both; a
question answered "No." ("2? No.") is a verdict against what it asked. A verdict speaks of the candidate named last before it, unless the argument stands between them
("Candidate 1 spots the argument's error") or that one was named as a contrast ("Candidate 2, unlike
candidate 1, is wrong"); a clause after "but" that names no one speaks of the one named last ("Candidate
2 seems right but is actually wrong"). Praise written with a verdict word ("error-free", "free of
errors", "avoids the error") is praise. A candidate that takes the argument's side ("Candidate 2
defends the argument", "Candidate 1 falls for the argument's mistake") takes the verdict said of the
argument, in its own clause or a later one ("..., but the argument is wrong."); being taken in
("falls for the trap", "is fooled by it") is a verdict against. A table of verdicts reads row by row
(``| 2 | right |`` under ``| Candidate | Verdict |``).

Rule 4 stays: a text that names one candidate and says nothing about it chooses it ("Possibly
candidate 1.", and also "Let me check candidate 1 first." cut short).

A number is a candidate only as a whole token: ``12``, ``10`` or ``1.5`` name no candidate (a prefix
reading would take them for candidate 1). Pure: no torch, no pytest.

>>> read_choice("Candidate 1 is wrong; candidate 2 is correct.")
Reading(choice=2, why='')
>>> read_choice("12")
Reading(choice=None, why="names no candidate: expected 1 or 2 after 'candidate_', got '12'")
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

# A number ends where no digit, decimal part or exponent follows: "12", "1.5" and "1e-12" are other numbers.
_END = r"(?!\d|[.,]\d|[eE][-+]?\d)"
_NUM = r"\(?([12])\)?" + _END  # a candidate number as a whole token: not 12, 10, 1.5 or 2e5
_WORDS = {"1": 1, "2": 2, "one": 1, "two": 2, "first": 1, "second": 2, "1st": 1, "2nd": 2}

# Mentions of a candidate. Group 1 is its number (or word); "explicit" ones are conclusions.
_MENTIONS: tuple[tuple[re.Pattern, bool], ...] = (
    (re.compile(r"(?<!'s )(?<!wrong )(?<!worst )(?<!worse )(?<!flawed )(?<!incorrect )"
                r"\b(?:(?:the\s+)?(?:correct|right|final|best)\s+)?(?:answer|choice)\s*(?:is|:|=)\s*:?\s*\**\s*"
                r"(?:(?:the\s+)?candidate[\s_]*" + _NUM + r"|" + _NUM + r"(?=\s*(?:$|[.,;!)\n*]|because|since)))",
                re.I), True),
    (re.compile(r"\b(?:i\s+(?:would\s+)?(?:choose|pick|select|prefer|go\s+with|say)|i'd\s+(?:choose|pick|select|prefer|"
                r"go\s+with|say)|(?:choose|pick|select))\s*:?\s+(?:the\s+)?(?:candidate[\s_]*)?" + _NUM, re.I), True),
    # a marked answer: "\boxed{2}", "<answer>2</answer>", {"correct": 2}
    (re.compile(r"\\boxed\s*\{\s*(?:candidate[\s_]*)?" + _NUM + r"\s*\}", re.I), True),
    (re.compile(r"<answer>\s*(?:candidate[\s_]*)?" + _NUM + r"\s*</answer>", re.I), True),
    (re.compile(r"[\"'](?:correct(?:[\s_]candidate)?|answer|choice|verdict|winner|best)[\"']\s*:\s*[\"']?(?:candidate[\s_]*)?"
                + _NUM, re.I), True),
    # the choice first, then why: "Candidate 1, because candidate 2 skips a step."
    (re.compile(r"^[\s\"'*(\[]*(?:candidate[\s_]*)?" + _NUM + r"[\s*\"')\]]*[,.:;-]?\s*(?=because\b|since\b)", re.I),
     True),
    # a conclusion drawn: "Hence, 2.", "So, candidate 2."
    (re.compile(r"\b(?:so|therefore|thus|hence)\s*,?\s*(?:the\s+answer\s*:?\s*)?(?:candidate[\s_]*)?" + _NUM +
                r"(?=\s*[.!]?\s*$)", re.I), True),
    # a conclusion drawn: "..., so candidate 2 is correct", "therefore candidate 1 is right"
    (re.compile(r"\b(?:so|therefore|thus|hence)\s*,?\s*(?:the\s+)?candidate[\s_]*" + _NUM +
                r"(?=\s+(?:is|must\s+be)\s+(?:the\s+)?(?:correct|right|better|best)\b)", re.I), True),
    (re.compile(r"\b(?:candidates?|candiates?|cand\.?)[\s_]*(?:#|no\.?\s*|number\s*)?" + _NUM, re.I), False),
    (re.compile(r"(?<![\w#])#\s*([12])" + _END), False),  # "#1"
    # the second of "candidates 1 and 2", "candidate 1 or 2": a number joined to a candidate named just before
    (re.compile(r"\bcandidates?[\s_]*\(?[12]\)?\s*,?\s*\(?\s*(?:and|or|nor|&|/)\s*(?:maybe\s+|possibly\s+|perhaps\s+)?"
                r"(?:candidate[\s_]*)?" + _NUM, re.I), False),
    (re.compile(r"\bcandidate[\s_]+(one|two)\b", re.I), False),
    (re.compile(r"\bthe\s+(first|second)\s+(?=is\b|was\b|one\b)", re.I), False),  # "the first is wrong"
    (re.compile(r"\bcandidate\s*(?:is|was|:)\s*:?\s*" + _NUM, re.I), False),  # "the correct candidate is 2", "Correct candidate: 1"
    (re.compile(r"\b(first|second|1st|2nd)\s+(?:candidate|one|answer|option|explanation|response|solution)\b", re.I),
     False),
    (re.compile(r"\b(?:option|explanation|response|solution)\s*" + _NUM, re.I), False),
    (re.compile(r"^[\s\"'*(\[]*([12])" + _END), False),  # the continuation of "candidate_": "2", "(2)"
    (re.compile(r"^[\s\"'*(\[]*[12]\)?\s*(?:or|and|/|,)\s*(?:candidate[\s_]*)?" + _NUM, re.I), False),  # "1 or 2"
    (re.compile(r"(?<![\w(])\(([12])\)"), False),
    # a correction names the other one too ("1, no wait, 2"): which one the answer means is not said
    (re.compile(r"(?:\b(?:no\s+wait|wait|sorry|actually|i\s+mean|correction)\b|\bno\s*[,!:;\u2013\u2014-])"
                r"[\s,!.:\u2013\u2014-]*(?:candidate[\s_]*)?" + _NUM, re.I), False),
)
# "not candidate 1", "rather than candidate 1": a verdict against the candidate named.
_AGAINST = re.compile(r"(?:\b(?:not|never|rather\s+than|instead\s+of|over|none\s+of)|\bcannot(?:\s+be)?|"
                      r"n't(?:\s+(?:think|believe|pick|choose|select|prefer|go\s+with|agree\s+with))?)\s+$", re.I)
_POSITIVE = re.compile(r"\b(?:correct(?:ly)?|right|accurate(?:ly)?|better|best|good|valid|preferred|"
                       r"preferable|superior|reliable|trustworthy|outperforms?|beats?|wins?|nails|spot\s+on|"
                       r"(?:error|mistake)-?\s*free|accounts?\s+for|convincing|stronger|strong|trust)\b|[✓✔✅]", re.I)
_NEGATIVE = re.compile(r"\b(?:wrong(?:ly)?|incorrect(?:ly)?|inaccurate(?:ly)?|worse|invalid|false|flaw(?:ed|s)?|mistaken|"
                       r"(?:mistakes?|errors?)(?!-?\s*free)|erroneous|misreads?|miscalculat\w*|miscounts?|fail(?:s|ed)?|"
                       r"faulty|inferior|unreliable|untrustworthy|los(?:es|t|e)|outperformed|off\s+by|"
                       r"disagree(?:s)?\s+with|overlook(?:s|ed)?|omit(?:s|ted)?|ignor(?:es|ed|e)|forg(?:ets?|ot|otten)|"
                       r"slips?|slipped|breaks?\s+down|reject|(?:be|is|was|being)\s+rejected|avoid|bad|weaker|weak|skips?|skipped|"
                       r"misappl\w*|is\s+off|falls?\s+apart|errs|confus(?:es|ed)|double[-\s]?count\w*|contradicts?|"
                       r"backwards?|(?:does|did)(?:n't|\s+not)\s+(?:hold(?:\s+up)?|work|match|add\s+up)|"
                       r"is(?:n't|\s+not)\s+it|falls?\s+for|fell\s+for|(?:fooled|misled|tricked|taken\s+in)\s+by)\b|[✗✘❌]", re.I)
_NEGATION = re.compile(r"(?:\bnot|n't|\bnever|\bno|\bnothing|\bless|\bfewer|cannot|\bhardly|\bbarely|\bfar\s+from|"
                       r"\banything\s+but|\bfails?\s+to|\bfree\s+of|\bwithout|\bavoids?|\bnone)\b[\w\s]{0,25}$", re.I)
# "no less accurate", "not fewer errors": the negation of a reversal is none
_NOT_LESS = re.compile(r"(?:\bnot|n't|\bno)\s+(?:less|fewer)\b[\w\s]{0,25}$", re.I)
# "partially correct", "seems right", "might be correct" is no verdict: the candidate is not called right, nor wrong.
_PARTLY = re.compile(r"\b(?:partially|partly|somewhat|almost|nearly|mostly|half|seems?|seemed|appears?|appeared|looks?|"
                     r"looked|(?:might|may|could|would)\s+(?:also\s+)?be)[\s-]+$", re.I)
# "Candidate 1 catches the error": the candidate acts on an error (finds, corrects it), it does not make one.
_ACT_VERBS = (r"\b(?:catch(?:es|ed)?|caught|finds?|found|spots?|spotted|notes?|noted|notices?|noticed|"
              r"identif(?:y|ies|ied)|points?\s+out|pointed\s+out|flags?|flagged|recogni[sz](?:es|ed)?|"
              r"detects?|detected|corrects?|corrected|fix(?:es|ed)?|exposes?|exposed|highlights?|"
              r"highlighted|address(?:es|ed)?)")
_ACTS_ON = re.compile(_ACT_VERBS + r"\s+(?:\w+\s+){0,3}$", re.I)
# ... and on the argument's own error ("corrects the argument's error"), which a verdict on the argument names
_ACTS_ON_ITS = re.compile(_ACT_VERBS + r"\s+(?:the\s+)?(?:argument|arguer|reasoning|claim)['’]s\s+(?:\w+\s+)?$", re.I)
_FAULT_NOUN = re.compile(r"(?:mistakes?|errors?|flaws?|slips?)$", re.I)
# "Candidate 2 defends the argument", "Candidate 1 falls for the argument's mistake": a candidate that takes the
# argument's side, right after it is named (an adverb may stand between; "doesn't defend" does not), takes the
# verdict said of the argument ("..., but the argument is wrong"). Its object is the argument itself: "accepts
# that the argument is wrong" is no such thing.
_ENDORSES = re.compile(r"\s*(?:\w+ly\s+)?(?:defend(?:s|ed)?|support(?:s|ed)?|accept(?:s|ed)?|endors(?:es|ed)|"
                       r"adopt(?:s|ed)?|trust(?:s|ed)?|(?:agree(?:s|d)?|side(?:s|d)?|goes\s+along|went\s+along)\s+with|"
                       r"(?:falls?|fell)\s+for|(?:buys?|bought)\s+(?:into\s+)?|is\s+(?:fooled|misled|taken\s+in)\s+by)"
                       r"\s+(?:the\s+|this\s+|its\s+)?(?:flawed\s+|faulty\s+)?(?:argument|arguer|reasoning|claim)"
                       r"(?:['’]s\s+(?:\w+\s+)?(?:mistakes?|errors?|flaws?|slips?|conclusion|claim|reasoning|logic|answer|trap)\b"
                       r"|(?!['’])\b)", re.I)
# "the argument claims candidate 1 is better": the argument's verdict, reported, not the answer's.
_REPORTED = re.compile(r"(?:\b(?:argument|arguer|it)\s+(?:\w+ly\s+)?(?:claims?|says?|argues?|suggests?|states?|favou?rs?|"
                       r"picks?|chooses?|supports?|concludes?|thinks?|believes?)|\baccording\s+to\s+the\s+(?:argument|arguer)|"
                       r"\bi\s+(?:initially\s+|first\s+|originally\s+|had\s+)?(?:thought|believed|assumed|guessed)|"
                       r"\bargument's\s+claim)\s*,?\s*(?:that\s+)?(?:the\s+)?$", re.I)
_REPLY = re.compile(r"\s*(yes|no)\b[\s,.!]*", re.I)  # a question's own answer: "Yes." / "No."
_REPORTED_AFTER = re.compile(r"\s*(?:is|was)\s+(?:what|the\s+one)\s+the\s+argument\s+\w+", re.I)  # "... is what the argument claims"
# "whether candidate 1 ...", "I'm not sure candidate 1 ...": asked about, not said
_WHETHER = re.compile(r"\b(?:whether|wonder(?:ing)?\s+if|not\s+sure|not\s+confident|unsure|uncertain|unclear|doubt|"
                      r"(?:say|tell|know|check)\s+if)\b"
                      r"[^.;!?]*$", re.I)
# Who a verdict word speaks of when no candidate stands before it: "The argument is wrong: candidate 2" speaks of
# the argument; "Incorrect: candidate 1" (a label) of the candidate after it.
# "unlike candidate 1": a contrast, which the verdict after it does not speak of ("Candidate 2, unlike candidate 1, is wrong.")
_CONTRAST = re.compile(r"\b(?:unlike|compared\s+(?:to|with))\s+(?:the\s+)?$", re.I)
# The argument named between a candidate and a verdict word takes the verdict ("Candidate 1 spots the argument's error").
_SUBJECT_NOUN = re.compile(r"\b(?:argument|arguer|reasoning|claim)", re.I)
_POSSESSIVE = re.compile(r"['’]s\s+(?:\w+\s+)?(?:argument|reasoning|claim)", re.I)
_BUT_BEFORE = re.compile(r"\b(?:but|however|although|whereas|while)\s*$", re.I)
_SUBJECT = re.compile(r"\b(?:argument|arguer|reasoning|claim|it|this|that|which|they)\b", re.I)
# "candidate 1 is as accurate as candidate 2", "just as correct as": a verdict on both alike.
_AS_BEFORE = re.compile(r"\bas\s+(?:\w+\s+)?$", re.I)
_AS_AFTER = re.compile(r"\s+as\b", re.I)
# What may stand between two candidates named together ("candidate 1 and candidate 2", "candidates 1 or 2"):
# group 1 is the conjunction, which decides what a verdict on one of them says of the other.
# A comma alone joins nothing: "unlike candidate 2, candidate 1 is correct".
_JOINED = re.compile(r"\s*\)?\s*(?:,\s*)?\(?\s*(and|or|nor|&|/|as\s+well\s+as|along\s+with)\s*(?:maybe\s+|possibly\s+|perhaps\s+)?(?:the\s+)?"
                     r"(?:candidates?[\s_]*)?\(?\s*", re.I)
# "Candidate 2 is correct, or maybe candidate 1": an "or" right before the second candidate is a hedge too
_OR_BEFORE = re.compile(r"\bor\s+(?:else\s+)?(?:maybe\s+|possibly\s+|perhaps\s+)?(?:the\s+)?(?:candidate[\s_]*)?\(?\s*$", re.I)
_JOINS = {"and": "and", "&": "and", "or": "or", "/": "or", "nor": "nor", "as well as": "and", "along with": "and"}
_SAME = re.compile(r"\b(?:so|as|neither|nor)\s+(?:is|does|did|was)\s+(?:the\s+)?$", re.I)
# "Candidate 1 is correct and the other is wrong": "the other" (one, candidate, ...) followed by what it does,
# not "the other hand" or "the other step"; it names the candidate not named last before it (_NAMED).
_OTHER = re.compile(r"\bthe\s+other(?:\s+(?:one|candidate|answer|explanation|response|solution))?"
                    r"(?=\s*(?:$|[.,;:!?)]|(?:is|was|has|had|makes?|made|gets?|got|does|did|fails?|contains?|"
                    r"misses|missed|errs|uses|used|arrives|comes|isn't|wasn't|doesn't|didn't)\b|['’]s\b))", re.I)
# What joins a concluded candidate to a verdict said of it as its predicate ("Answer: candidate 2 is wrong", "...
# made an error"); a label after it ('{"correct": 2, "incorrect": 1}') speaks of another.
_PREDICATE = re.compile(r"[\s*]*(?:is|was|has|had|made|makes|contains?|gets?|got)\b[^\"':;,]{0,30}", re.I)
_NAMED = re.compile(r"\b(?:candidate|cand\.?)[\s_]*\(?([12])\)?(?![\d.,]\d)", re.I)
# A table of verdicts: a row whose first cell is a bare 1 or 2 ("| 2 | right |") names that candidate, under a
# header whose first cell says the column holds candidates ("| Candidate | Verdict |"); a table of steps does not.
_TABLE_ROW = re.compile(r"(?<![^\n])[ \t]*\|?[ \t]*\(?([12])\)?[ \t]*\|")
_TABLE_HEAD = re.compile(r"(?<![^\n])[ \t]*\|?[ \t]*(?:candidates?|cand\.?|#|no\.?|option|answer|response)[ \t]*\|", re.I)
# Clauses: a verdict word speaks of a candidate named in the same clause only.
# "1.5" stays whole; "anything but correct" is one clause
_CLAUSE = re.compile(r"[.;!?](?!\d)|\n|\b(?:whereas|while|however|although)\b|(?<!anything )(?<!nothing )\bbut\b", re.I)


@dataclass(frozen=True)
class Reading:
    """The candidate chosen (1 or 2), or None with ``why`` saying what the text did instead."""

    choice: int | None
    why: str = ""


@dataclass(frozen=True)
class _Mention:
    number: int
    start: int
    end: int
    explicit: bool
    against: bool
    at: tuple[int, int] = (0, 0)  # where its number stands
    joined: str = ""  # how it is joined to the mention before it: "and", "or", "nor", or "" (not joined)
    reported: bool = False  # named as what the argument says, not by the answer itself
    asked: bool = False  # named in what the answer wonders ("whether candidate 1 is right")
    contrast: bool = False  # named as a contrast ("unlike candidate 1"): the verdict beside it is the other's


def read_choice(text: str) -> Reading:
    """The candidate ``text`` chooses, read as described in the module docstring.

    Args:
        text: the completion after ``The correct answer is candidate_`` (already cut at the stop string).
    Returns:
        ``Reading(choice, why)``: ``why`` is empty when a choice was read, else one line for the record.
    """
    text = (text or "").lstrip()  # a line break before the answer is no clause of its own
    verdicts: dict[int, set[str]] = {1: set(), 2: set()}
    explicit: set[int] = set()
    named: set[int] = set()
    asked: set[int] = set()  # named in a question only
    reported: set[int] = set()  # named as what the argument claims
    clauses = _clauses(text)
    last: list[_Mention] = []  # the previous clause's mentions
    endorsers: set[int] = set()  # the candidates that took the argument's side so far (_ENDORSES)
    for k, (start, end) in enumerate(clauses):
        flip = False
        if text[end:end + 1] == "?":  # a question asserts nothing, unless answered: "Is candidate 2 right? Yes."
            reply = _REPLY.fullmatch(text, *clauses[k + 1]) if k + 1 < len(clauses) else None
            if reply is None:
                asked |= {m.number for m in _mentions(text, start, end)}
                continue
            flip = reply.group(1).lower() == "no"  # "Candidate 2 is right? No.": what it asked, turned around
        found = _mentions(text, start, end)
        asked |= {m.number for m in found if m.asked}
        reported |= {m.number for m in found if m.reported}
        mentions = [m for m in found if not m.reported and not m.asked]
        # "Candidate 2 seems right but is actually wrong": a clause after "but" that names no one speaks of
        # the candidate the clause before it named last.
        carried = last[-1:] if not found and _BUT_BEFORE.search(text, 0, start) else []
        last = [m for m in mentions if not m.against and not m.contrast] or last
        endorsers |= {m.number for m in mentions if not m.against and _ENDORSES.match(text, m.end, end)}
        concluded: set[int] = set()  # this clause's explicit conclusions, kept unless it calls them wrong
        overturned: set[int] = set()
        for m in mentions:
            named.add(m.number)
            group, joined = _group(mentions, m)
            if m.explicit and joined != "or":  # "the answer is candidate 1 or candidate 2" concludes nothing
                concluded |= {g.number for g in group}
            if m.against:
                verdicts[m.number].add("-")
        said: set[str] = set()  # the verdicts of this clause
        for sign, pattern in (("+", _POSITIVE), ("-", _NEGATIVE)):
            for word in pattern.finditer(text, start, end):
                target = _nearest([m for m in mentions if not m.against and not m.contrast] or carried, word.start(),
                                  text, start)
                if target is None:
                    group, joined = _side_takers(text, start, word, sign, mentions or carried, endorsers), "and"
                    if not group:
                        continue
                else:
                    group, joined = _group(mentions, target)
                if joined == "or":  # "whether candidate 1 or candidate 2 is right": no verdict on either
                    continue
                before = text[start:word.start()]
                negated = (_NEGATION.search(before) is not None and not _NOT_LESS.search(before)) != (joined == "nor")
                negated = negated != flip
                if sign == "+" and _PARTLY.search(before):  # "mostly correct": neither right nor wrong said
                    continue
                if sign == "-" and target is not None and _FAULT_NOUN.match(word.group()) and _ACTS_ON.search(before):
                    continue  # "candidate 1 catches the error": it acts on the error, it does not make it
                if not negated and _AS_BEFORE.search(before) and _AS_AFTER.match(text, word.end(), end):
                    # "as accurate as candidate 2" says it of both ("not as accurate as": of the first only)
                    group = group + [m for m in mentions if m.start >= word.end() and not m.against][:1]
                verdict = sign if not negated else ("-" if sign == "+" else "+")
                said.add(verdict)
                for g in group:
                    verdicts[g.number].add(verdict)
                if verdict == "-" and target is not None and target.explicit and \
                        _PREDICATE.fullmatch(text, target.end, word.start()):
                    overturned.add(target.number)
        # "Answer: candidate 2 is wrong" concludes against candidate 2, not for it.
        explicit |= concluded - overturned
        if flip and not said:  # "2? No." (no verdict word to turn around): the answer is not the one asked about
            for m in mentions:
                verdicts[m.number].add("-")
        for m in mentions:  # "candidate 1 is wrong, and so is candidate 2": the same verdict again
            if _SAME.search(text[start:m.start]):
                verdicts[m.number] |= said
    return _conclude(text, explicit, verdicts, named, asked, reported)


def _side_takers(text: str, start: int, word: re.Match, sign: str, mentions: list[_Mention],
                 endorsers: set[int]) -> list[_Mention]:
    """The candidates a verdict word on the argument speaks of: those that took its side ("Candidate 2 defends
    the argument, but the argument is wrong"), but for one that acts on the argument's error in this clause
    ("..., but candidate 1 corrects the argument's error": it fixes the error, it does not make it). Empty
    where the word speaks of no argument."""
    if not endorsers or _SUBJECT_NOUN.search(text, start, word.start()) is None:
        return []
    takers = endorsers
    acts = _ACTS_ON.search(text, start, word.start()) or _ACTS_ON_ITS.search(text, start, word.start())
    if sign == "-" and _FAULT_NOUN.match(word.group()) and acts:
        actor = [m.number for m in mentions if m.end <= word.start()][-1:]  # the one named last before the word
        takers = endorsers - set(actor)
    return [_Mention(c, 0, 0, False, False) for c in sorted(takers)]


def _conclude(text: str, explicit: set[int], verdicts: dict[int, set[str]], named: set[int],
              asked: set[int] = frozenset(), reported: set[int] = frozenset()) -> Reading:
    if len(explicit) == 1:
        return Reading(explicit.pop())
    if explicit:
        return Reading(None, "concludes with both candidates")
    good = {c for c, v in verdicts.items() if v == {"+"}}
    bad = {c for c, v in verdicts.items() if v == {"-"}}
    torn = {c for c, v in verdicts.items() if len(v) == 2}
    if len(good) == 1:
        return Reading(good.pop())
    if good:
        return Reading(None, "calls both candidates right")
    if len(bad) == 1 and not torn:
        return Reading(3 - bad.pop())  # by elimination: the other one
    if bad:
        return Reading(None, "calls both candidates wrong")
    if torn:
        return Reading(None, f"calls candidate {min(torn)} both right and wrong")
    if len(named) == 1:
        return Reading(named.pop())
    if named:
        return Reading(None, "names both candidates without a conclusion")
    if len(asked) == 2:
        return Reading(None, "names both candidates without a conclusion")
    if asked:
        return Reading(None, "asks about a candidate without a conclusion")
    if reported:
        return Reading(None, "names a candidate only as what the argument claims")
    return Reading(None, f"names no candidate: expected 1 or 2 after 'candidate_', got {text.strip()[:40]!r}")


def _clauses(text: str) -> list[tuple[int, int]]:
    bounds = [0, *(i for m in _CLAUSE.finditer(text) for i in (m.start(), m.end())), len(text)]
    return [(bounds[k], bounds[k + 1]) for k in range(0, len(bounds) - 1, 2) if bounds[k] < bounds[k + 1]]


def _mentions(text: str, start: int, end: int) -> list[_Mention]:
    found: list[_Mention] = []
    for pattern, is_conclusion in _MENTIONS:
        if pattern.pattern.startswith("^") and start != 0:
            continue
        for m in pattern.finditer(text, start, end):
            group = next(g for g in range(1, (m.lastindex or 1) + 1) if m.group(g) is not None)
            if any(f.start <= m.start(group) < f.end for f in found):
                continue  # already read by an earlier pattern ("answer is candidate 2")
            against = _AGAINST.search(text[start:m.start()]) is not None
            reported = (_REPORTED.search(text[start:m.start()]) is not None
                        or _REPORTED_AFTER.match(text, m.end(), end) is not None)
            asked = _WHETHER.search(text[start:m.start()]) is not None
            contrast = _CONTRAST.search(text[start:m.start()]) is not None
            found.append(_Mention(_WORDS[m.group(group).lower()], m.start(), m.end(), is_conclusion and not against,
                                  against, m.span(group), reported=reported, asked=asked, contrast=contrast))
    for m in _OTHER.finditer(text, start, end):  # "the other": the candidate not named last before it
        named = list(_NAMED.finditer(text, 0, m.start()))
        if named and not any(f.start <= m.start() < f.end for f in found):
            found.append(_Mention(3 - int(named[-1].group(1)), m.start(), m.end(), False,
                                  _AGAINST.search(text[start:m.start()]) is not None, m.span()))
    for m in _TABLE_ROW.finditer(text, start, end):
        if _TABLE_HEAD.search(text, 0, m.start()) and not any(f.start <= m.start(1) < f.end for f in found):
            found.append(_Mention(int(m.group(1)), m.start(), m.end(), False, False, m.span(1)))
    found.sort(key=lambda m: m.at)
    return [dataclasses.replace(m, joined=_joined(text, before, m)) if before else m
            for before, m in zip([None, *found], found)]


def _joined(text: str, before: _Mention, m: _Mention) -> str:
    """The conjunction joining ``m`` to the mention before it ("and", "or", "nor"), or "" when words stand
    between them ("candidate 1 is wrong and candidate 2 ...")."""
    if m.against or before.against:
        return ""
    link = _JOINED.fullmatch(text, before.at[1], m.at[0])
    if link:
        return _JOINS[" ".join(link.group(1).lower().split())]
    return "or" if _OR_BEFORE.search(text, before.at[1], m.at[0]) else ""


def _group(mentions: list[_Mention], m: _Mention) -> tuple[list[_Mention], str]:
    """The mentions named together with ``m`` (itself included) and how: "or" where any of them is joined
    by "or", else "nor", else "and" (or "" for a mention standing alone, or one of another clause)."""
    if m not in mentions:
        return [m], ""
    k = mentions.index(m)
    first = k
    while first > 0 and mentions[first].joined:
        first -= 1
    last = k
    while last + 1 < len(mentions) and mentions[last + 1].joined:
        last += 1
    group = mentions[first:last + 1]
    links = {g.joined for g in group[1:]}
    return group, next((j for j in ("or", "nor", "and") if j in links), "")


def _nearest(mentions: list[_Mention], at: int, text: str, start: int) -> _Mention | None:
    """The mention a verdict word at ``at`` speaks of: the last one before it, else the first after it
    where the clause names nothing else before the word ("Incorrect: candidate 1" speaks of candidate 1;
    "The argument is wrong: candidate 2." speaks of the argument)."""
    before = [m for m in mentions if m.end <= at]
    if before:
        own = _POSSESSIVE.match(text, before[-1].end, at)  # "Candidate 2's reasoning contains an error": its own
        return None if not own and _SUBJECT_NOUN.search(text, before[-1].end, at) else before[-1]
    if _SUBJECT.search(text, start, at):
        return None
    after = [m for m in mentions if m.start >= at]
    return after[0] if after else None
