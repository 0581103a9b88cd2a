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
(``| 2 | right |`` under ``| Candidate | Verdict |``); a Yes/No (Y/N, True) cell by its column's header:
under "Correct?" yes is right, under "Has an error?" or "Not correct?" yes is wrong, under a header that is
no verdict ("Checked?") it says nothing. Check marks (✓ ✗) are verdict words wherever they stand.

An aside right after a candidate, in brackets, between dashes or between commas, leaves the verdict after it
the candidate's ("so candidate 1 (82) is wrong", "candidate 1, with 82, is wrong", "candidate 1, like the
argument, is wrong" are 2), and no sentence ends inside brackets or at "i.e.", "e.g.", "vs." ("candidate 1
(82.) is wrong"); an aside that reports the argument ("candidate 2, the argument says, is wrong") makes the
candidate what the argument claims.

Agreement is the answer's own verdict: "I agree with candidate 1", "I side with / I'm with candidate 1" are
verdicts for it, "I disagree with candidate 1", "I do not agree with candidate 1" against it ("candidate 2
agrees with candidate 1" is none). "I agree" (or "I disagree") at the end of a clause that reports a claim,
or as the next clause, makes the claim the answer's own (or turns it around): "The argument says candidate 2,
and I agree." is 2, "The argument claims candidate 1 is wrong, but I disagree." is 1, "Candidate 1 claims 47;
I agree." is 1 (a candidate's claim only where the text names no other candidate: after "Candidate 1 says 82.
Candidate 2 says 47." "I agree" does not say with which). Without the agreement what the argument claims
stays no verdict.

A label with a colon speaks of the candidate after it, a bare number too: "Correct: 2", "Wrong answer: 1",
"Incorrect: 1, correct: 2" (a label opens its clause or follows the previous label's item; "The argument is
wrong: candidate 2." is no label); "Verdict: 2", "Winner: 2", "Final: 2" are explicit conclusions.

"The former" and "the latter" are the candidates in the order the text named them before ("Candidate 1
says 47. Candidate 2 says 82. The latter is correct." is 2; named 2 then 1, the latter is 1); where the
text named only one of them, or none, or went back ("candidate 1 ... candidate 2 ... candidate 1"), the
order is not given: no answer by rule 4 (the others still apply). "The latter half" is no candidate.

A last line or sentence that is only a candidate (``**2**``, ``2``, ``[2]``, ``(2)``, ```2```, "Candidate
2.", after the text before it) restates the choice: it is that candidate where the text before it reads
as the same one, or as none (names both, or asks, or reports) without calling it wrong. Against what the
text before it read (its conclusion, verdicts, a bare choice: "1\\n2", or the one candidate it named), it
is a correction without words, which names both: no answer ("Candidate 1 is correct.\\n\\n**2**"). It weighs
less than an explicit conclusion: ``\\boxed{2}`` (and "the answer is 2") still wins over verdicts before it
in the strict reading; the lenient reading, which reads the text with the markup gone, sees a last
``\\boxed{2}`` as a bare 2.

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

import bisect
import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import Iterator

# A number ends where no digit, decimal part or exponent follows: "12", "1.5" and "1e-12" are other numbers.
_END = r"(?!\d|[.,]\d|[eE][-+]?\d)"
_NUM = r"\(?([12])\)?" + _END  # a candidate number as a whole token: not 12, 10, 1.5 or 2e5
_WORDS = {"1": 1, "2": 2, "one": 1, "two": 2, "first": 1, "second": 2, "1st": 1, "2nd": 2}

# What follows a label word: a colon, then the candidate and nothing more ("Correct: 2", "**Verdict:** candidate 2.")
_LABELED = (r"[\s*_]*(?:answers?|ones?|candidates?|options?|choices?)?[\s*_]*[:=][\s*_]*(?:candidate[\s_]*)?" + _NUM +
            r"(?=[\s*_]*(?:$|[.,;!)\n|]|and\b|because\b|since\b))")
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
    # a label that concludes: "Verdict: 2", "Winner: candidate 2"
    (re.compile(r"\b(?:(?:final\s+|my\s+)?(?:verdict|decision|conclusion|pick|selection|judge?ment)|winner|final)"
                + _LABELED, re.I), True),
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
    # a verdict label ("Correct: 2", "Wrong answer: 1"): the verdict word speaks of the number after it (_nearest)
    (re.compile(r"\b(?:correct|right|better|best|valid|accurate|preferred|wrong|incorrect|worse|worst|invalid|flawed|"
                r"false)" + _LABELED, re.I), False),
)
# "not candidate 1", "rather than candidate 1": a verdict against the candidate named.
_AGAINST = re.compile(r"(?:\b(?:not|never|rather\s+than|instead\s+of|over|none\s+of)|\bcannot(?:\s+be)?|"
                      r"n't(?:\s+(?:think|believe|pick|choose|select|prefer|go\s+with|agree\s+with))?|"
                      r"\bi\s+(?:\w+ly\s+)?disagree\s+with(?:\s+the)?|\b(?:not|n't|never)\s+(?:agree|side)\s+with(?:\s+the)?)\s+$",
                      re.I)
# "I agree with candidate 1", "I'm with candidate 2": the answer's own verdict for the candidate named (only the
# answer's "I": "candidate 2 agrees with candidate 1" is no verdict; "I don't agree with" is _AGAINST's).
_FOR = re.compile(r"\bi(?:'m|\s+am)?\s+(?:(?:also|fully|completely|totally|strongly|definitely|would|do)\s+)*"
                  r"(?:(?:agree|concur|side|siding)\s+with|with|support|back|endorse)\s+(?:the\s+)?$", re.I)
# "The argument says candidate 2, and I agree." / "... 2. I disagree.": the claim reported is made the answer's own
# (or turned around). Its object, if any, is the claim, not a candidate ("I agree with candidate 1" is _FOR's).
_AGREES = re.compile(r"[\s,;:\u2013\u2014-]*(?:and\s+|but\s+|so\s+)?i\s+(?:(?:also|fully|completely|totally|strongly|do)\s+)*"
                     r"(dis)?agree(?:\s+with\s+(?:it|this|that|them|the\s+argument|the\s+arguer|the\s+claim))?[\s.!]*$", re.I)
# "Candidate 1 claims 47; I agree.": a candidate's own claim, which a bare "I agree" after it takes up
_CLAIMS = re.compile(r"\s*(?:\w+ly\s+)?(?:claims?|says?|argues?|states?|concludes?|answers?|suggests?|gets?|got|"
                     r"arrives\s+at|computes?|finds?)\b", re.I)
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
# "Actually, I was mistaken: candidate 2 is correct.": the answer's words about itself are no verdict on a candidate
# ("mistaken" was one against candidate 2, and the text above read 1). What they take back is not read: the text
# then calls both right, no answer.
_SELF_SAYS = re.compile(r"\b(?:i(?:\s+was|\s+am|['’]m|\s+have\s+been|['’]ve\s+been|\s+made)|my(?:\s+own)?)"
                        r"(?:\s+(?:\w+ly|a|an|so|too|very|earlier|first|previous|initial|small|big))*\s+$", re.I)
# "I found an error in candidate 1", "Candidate 1: we spotted a slip": the answer acts, the candidate made the error.
_SELF_ACTS = re.compile(r"\b(?:i|we)(?:['’]ve|\s+(?:\w+ly|also|have|had|just|then|did|can|could|quickly))*\s+$", re.I)
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
# "... is what the argument claims", "candidate 2, the argument says, is wrong"
_REPORTED_AFTER = re.compile(r"\s*(?:is|was)\s+(?:what|the\s+one)\s+the\s+argument\s+\w+|"
                             r"\s*,\s*(?:the\s+argument|the\s+arguer|it)\s+(?:\w+ly\s+)?(?:says?|claims?|argues?|"
                             r"suggests?|states?|thinks?|believes?)\s*,", re.I)
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
# An aside right after a candidate ("candidate 1 (82) is wrong", "candidate 1, like the argument, is wrong",
# "candidate 1 - the one with 82 - is wrong") is no subject of its own: the verdict after it speaks of the candidate.
_ASIDE = re.compile(r"\s*(?:\([^()\n]{0,80}\)|\[[^\[\]\n]{0,80}\]|[\u2013\u2014][^\u2013\u2014\n]{1,80}[\u2013\u2014]|"
                    r"\s-\s[^\n]{1,80}?\s-\s|,[^,;:\n]{1,80}?,)")
_BRACKETS = re.compile(r"\([^()\n]{0,80}\)|\[[^\[\]\n]{0,80}\]")  # no clause ends inside: "candidate 1 (82.) is wrong"
# A verdict word that labels what follows ("Correct: 2", "Incorrect: candidate 1, correct: candidate 2") opens its
# clause or follows the previous label's item; "The argument is wrong: candidate 2." is no label.
_LABEL = re.compile(r"[\s*_]*(?:answers?|ones?|candidates?|options?|choices?)?[\s*_]*[:=]", re.I)
_LABEL_START = re.compile(r"(?:^|[,&]|\band)[\s*_#>|-]*$", re.I)
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
_DOES = (r"(?=\s*(?:$|[.,;:!?)]|(?:is|was|has|had|makes?|made|gets?|got|does|did|fails?|contains?|"
         r"misses|missed|errs|uses|used|arrives|comes|isn't|wasn't|doesn't|didn't)\b|['’]s\b))")
_OTHER = re.compile(r"\bthe\s+other(?:\s+(?:one|candidate|answer|explanation|response|solution))?" + _DOES, re.I)
# What joins a concluded candidate to a verdict said of it as its predicate ("Answer: candidate 2 is wrong", "...
# made an error"); a label after it ('{"correct": 2, "incorrect": 1}') speaks of another.
_PREDICATE = re.compile(r"[\s*]*(?:is|was|has|had|made|makes|contains?|gets?|got)\b[^\"':;,]{0,30}", re.I)
_NAMED = re.compile(r"\b(?:candidate|cand\.?)[\s_]*\(?([12])\)?(?![\d.,]\d)", re.I)
# "the former", "the latter" (one, candidate, ...) followed by what it does, as for "the other" ("the latter
# half" is none).
_FORMER = re.compile(r"\bthe\s+(former|latter)(?:\s+(?:one|candidate|answer|explanation|response|solution|option))?"
                     + _DOES, re.I)
# The order in which the text names the candidates, for "the former" and "the latter": "candidates 1 and 2",
# "candidate 2 ... candidate 1", "the first candidate ... the second one".
_ORDER = re.compile(r"\b(?:candidates?|cand\.?)[\s_]*(?:#\s*|no\.?\s*)?\(?([12])\)?" + _END +
                    r"(?:\s*(?:,|and|&|or|vs\.?|versus|/)\s*\(?([12])\)?" + _END + r")?|"
                    r"\b(first|second)\s+(?:candidate|one|answer|explanation|response|solution|option)\b|"
                    r"\bthe\s+(first|second)\s+(?=(?:says|gets|claims|argues|computes|arrives|is|was)\b)", re.I)
# What concludes with the candidate after it: "I choose the latter", "the answer is the former".
_CHOOSES = re.compile(r"(?:\b(?:choose|pick|select|prefer|go\s+with)|\b(?:answer|choice)\s*(?:is|:))\s+$", re.I)
# A table of verdicts: a row whose first cell is a bare 1 or 2 ("| 2 | right |") names that candidate, under a
# header whose first cell says the column holds candidates ("| Candidate | Verdict |"); a table of steps does not.
_TABLE_ROW = re.compile(r"(?<![^\n])[ \t]*\|?[ \t]*\(?([12])\)?[ \t]*\|")
# A Yes/No cell (or Y/N, True) under a column whose header is a verdict ("Correct?": yes is right; "Has an
# error?": yes is wrong); a header that is no verdict ("Checked?") gives none.
_YES_NO = re.compile(r"[\s*_`]*(yes|no|y|n|true)[\s*_`.!]*", re.I)
_TABLE_HEAD = re.compile(r"(?<![^\n])[ \t]*\|?[ \t]*(?:candidates?|cand\.?|#|no\.?|option|answer|response)[ \t]*\|", re.I)
# A final line or sentence that is only a candidate ("... candidate 2.\n\n**2**", "... candidate 2. 2", "[2]"): it
# restates the choice (read_choice). \boxed{2} is no such thing: it is an explicit conclusion (_MENTIONS).
_FINAL = re.compile(r"(?:(?<=[.!?])(?<!\bi\.e\.)(?<!\be\.g\.)(?<!\bvs\.)(?<!\bcf\.)[ \t]+|\n\s*|^)"
                    r"[*_`\"'(\[\s]*(?:candidate[\s_]*)?([12])" + _END +
                    r"[*_`\"')\]\s.!]*\Z", re.I)
# Clauses: a verdict word speaks of a candidate named in the same clause only.
# "1.5" stays whole; "anything but correct" is one clause
_CLAUSE = re.compile(r"(?<!\bvs)(?<!\bcf)(?<!\bi\.e)(?<!\be\.g)(?!(?<=\bi)\.e\.)(?!(?<=\be)\.g\.)[.;!?](?!\d)|"
                     r"\n|\b(?:whereas|while|however|although)\b|(?<!anything )(?<!nothing )\bbut\b", re.I)


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
    agreed: bool = False  # named as what the answer agrees with ("I agree with candidate 1")
    cue: int = -1  # where the words that make it against or agreed begin ("I disagree with"), else -1
    row: bool = False  # the first cell of a table row


def read_choice(text: str) -> Reading:
    """The candidate ``text`` chooses, read as described in the module docstring.

    Args:
        text: the completion after ``The correct answer is candidate_`` (already cut at the stop string).
    Returns:
        ``Reading(choice, why)``: ``why`` is empty when a choice was read, else one line for the record.
    """
    text = (text or "").lstrip()  # a line break before the answer is no clause of its own
    before, finals = text, set()
    # The last 200 characters only: a search from the start, once per bare line, made "1\\n" * 3000 quadratic.
    while (final := _FINAL.search(before, max(0, len(before) - 200))) is not None and before[:final.start()].strip():
        before, finals = before[:final.start()], finals | {_WORDS[final.group(1).lower()]}
    if not finals:
        return _conclude(text, *_read(text))
    if len(finals) > 1:  # "...\n1\n2": a correction without words
        return Reading(None, "ends with both candidates, one after the other: names both candidates")
    return _restated(before, finals.pop())


def _restated(before: str, chosen: int) -> Reading:
    """A text that ends with only a candidate (``chosen``, once or more) after ``before``: that candidate where
    ``before`` reads as it, or as none without calling it wrong; else a correction without words, which names
    both ("Candidate 1 is correct. **2**", "1\\n2")."""
    said = _read(before)
    reading = _conclude(before, *said)
    if reading.choice == chosen or (reading.choice is None and "-" not in said[1][chosen]):
        return Reading(chosen)
    return Reading(None, f"ends with candidate {chosen} against what it said before: names both candidates")


def _read(text: str) -> tuple[set[int], dict[int, set[str]], set[int], set[int], set[int], bool]:
    """What ``text`` says, clause by clause, for ``_conclude``: its explicit conclusions, the verdicts on each
    candidate, and the candidates named, asked about and reported; and whether it speaks of "the former" or
    "the latter" where the order is not given."""
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
        agrees = _agreement(text, clauses, k, found)
        claimed = [m.number for m in found if m.reported] or [m.number for m in found
                                                              if _CLAIMS.match(text, m.end, end)]
        if agrees is not None:  # "The argument says candidate 2, and I agree.": what it reports, the answer says
            found = [dataclasses.replace(m, reported=False) for m in found]
            flip = flip != (agrees == "dis")
        asked |= {m.number for m in found if m.asked}
        reported |= {m.number for m in found if m.reported}
        mentions = [m for m in found if not m.reported and not m.asked]
        # "Candidate 2 seems right but is actually wrong": a clause after "but" that names no one speaks of
        # the candidate the clause before it named last.
        # (The words right before the clause only: a search from the text's start made every clause scan it all.)
        carried = last[-1:] if not found and _BUT_BEFORE.search(text, max(0, start - 80), start) else []
        last = [m for m in mentions if not m.against and not m.contrast] or last
        endorsers |= {m.number for m in mentions if not m.against and _ENDORSES.match(text, m.end, end)}
        concluded: set[int] = set()  # this clause's explicit conclusions, kept unless it calls them wrong
        overturned: set[int] = set()
        for m in mentions:
            named.add(m.number)
            group, joined = _group(mentions, m)
            if m.explicit and joined != "or":  # "the answer is candidate 1 or candidate 2" concludes nothing
                concluded |= {g.number for g in group}
            if m.against or m.agreed:
                verdicts[m.number].add("-" if m.against else "+")
        said: set[str] = _cells(text, mentions, verdicts)  # the verdicts of this clause
        for sign, pattern in (("+", _POSITIVE), ("-", _NEGATIVE)):
            for word in pattern.finditer(text, start, end):
                if any(0 <= m.cue <= word.start() < m.start for m in mentions):
                    continue  # "I disagree with candidate 1": the words that made the mention a verdict against
                if _SELF_SAYS.search(text, max(start, word.start() - 40), word.start()):
                    continue  # "I was mistaken", "my mistake": the answer speaks of itself, of no candidate
                target = _nearest([m for m in mentions if not m.against and not m.contrast] or carried, word.start(),
                                  text, start, word.end())
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
                if sign == "-" and target is not None and _FAULT_NOUN.match(word.group()) and \
                        _candidate_acts(text, start, target, _ACTS_ON.search(before)):
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
        if flip and not said and agrees is None:  # "2? No." (no verdict word to turn): not the one asked about
            for m in mentions:
                verdicts[m.number].add("-")
        if agrees is not None and not said:  # "The argument says candidate 2, and I agree.": its choice, taken
            for number in claimed:
                verdicts[number].add("-" if agrees else "+")
        for m in mentions:  # "candidate 1 is wrong, and so is candidate 2": the same verdict again
            if _SAME.search(text[start:m.start]):
                verdicts[m.number] |= said
    vague = any(_order(text, f.start()) is None for f in _FORMER.finditer(text))
    return explicit, verdicts, named, asked, reported, vague


def _candidate_acts(text: str, start: int, target: _Mention, act: re.Match | None) -> bool:
    """Whether the fault noun a verb of ``_ACTS_ON`` (``act``, in the clause from ``start``) leads to is one the
    ``target`` candidate acts on ("Candidate 2 catches the error": it does not make it): the candidate is named
    before the verb and the verb is not the answer's own ("I found an error in candidate 1" read 1: it is 2)."""
    if act is None:
        return False
    verb = start + act.start()
    return target.end <= verb and _SELF_ACTS.search(text, target.end, verb) is None


def _agreement(text: str, clauses: list[tuple[int, int]], k: int, found: list[_Mention]) -> str | None:
    """"" where clause ``k`` reports a claim (the argument's, or a candidate's: "Candidate 1 claims 47") and
    the answer agrees with it, at the clause's end or in the next one ("..., and I agree", "... . I agree."),
    "dis" where it disagrees, None where neither."""
    start, end = clauses[k]
    # a candidate's claim is the one agreed with only where the text has named no other ("Candidate 1 says 82.
    # Candidate 2 says 47. I agree." does not say with which)
    alone = len([n for n, at in _index(text).first_named.items() if at <= end]) == 1
    if not any(m.reported or (alone and _CLAIMS.match(text, m.end, end)) for m in found):
        return None
    tail = _AGREES.search(text, max((m.end for m in found), default=start), end)
    if tail is None and k + 1 < len(clauses):
        tail = _AGREES.fullmatch(text, *clauses[k + 1])
    return None if tail is None else (tail.group(1) or "").lower()


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
              asked: set[int] = frozenset(), reported: set[int] = frozenset(), vague: bool = False) -> Reading:
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
    if vague:  # "Candidate 2 says 47. The latter is right.": which one is not said
        return Reading(None, "speaks of the former or the latter without naming both candidates in order")
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
    """The clauses of ``text`` as (start, end): split at ``_CLAUSE`` outside brackets, and where a clause runs
    on past ``CLAUSE_CHARS``, at the last space before that (each clause's mentions are read against each
    other: a clause of thousands of mentions, as a model that repeats itself writes, took minutes)."""
    asides = [b.span() for b in _BRACKETS.finditer(text)]  # in order, never overlapping
    starts = [a for a, _ in asides]

    def inside(at: int) -> bool:
        k = bisect.bisect_left(starts, at) - 1
        return k >= 0 and asides[k][0] < at < asides[k][1]

    ends = [m for m in _CLAUSE.finditer(text) if not inside(m.start())]
    bounds = [0, *(i for m in ends for i in (m.start(), m.end())), len(text)]
    return [piece for k in range(0, len(bounds) - 1, 2) if bounds[k] < bounds[k + 1]
            for piece in _pieces(text, bounds[k], bounds[k + 1])]


CLAUSE_CHARS = 1000  # far longer than any sentence a judge answer needs


def _pieces(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while end - start > CLAUSE_CHARS:
        cut = text.rfind(" ", start + 1, start + CLAUSE_CHARS)
        cut = cut if cut > start else start + CLAUSE_CHARS
        yield start, cut
        start = cut
    yield start, end


def _mentions(text: str, start: int, end: int) -> list[_Mention]:
    found: list[_Mention] = []
    for pattern, is_conclusion in _MENTIONS:
        if pattern.pattern.startswith("^") and start != 0:
            continue
        for m in pattern.finditer(text, start, end):
            group = next(g for g in range(1, (m.lastindex or 1) + 1) if m.group(g) is not None)
            if any(f.start <= m.start(group) < f.end for f in found):
                continue  # already read by an earlier pattern ("answer is candidate 2")
            stance = _stance(text, start, m.start())
            reported = (_REPORTED.search(text[start:m.start()]) is not None
                        or _REPORTED_AFTER.match(text, m.end(), end) is not None)
            asked = _WHETHER.search(text[start:m.start()]) is not None
            contrast = _CONTRAST.search(text[start:m.start()]) is not None
            found.append(_Mention(_WORDS[m.group(group).lower()], m.start(), m.end(),
                                  is_conclusion and not stance["against"], at=m.span(group), reported=reported,
                                  asked=asked, contrast=contrast, **stance))
    for m in _OTHER.finditer(text, start, end):  # "the other": the candidate not named last before it
        last = _index(text).last_named(m.start())
        if last is not None and not any(f.start <= m.start() < f.end for f in found):
            found.append(_Mention(3 - last, m.start(), m.end(), False, at=m.span(),
                                  **_stance(text, start, m.start())))
    for m in _FORMER.finditer(text, start, end):  # "the latter": the one named second, where the order is given
        order = _order(text, m.start())
        if order and not any(f.start <= m.start() < f.end for f in found):
            stance = _stance(text, start, m.start())
            found.append(_Mention(order[m.group(1).lower() == "latter"], m.start(), m.end(),
                                  _CHOOSES.search(text[start:m.start()]) is not None and not stance["against"],
                                  at=m.span(), **stance))
    for m in _TABLE_ROW.finditer(text, start, end):
        if _index(text).last_head(m.start()) is not None and not any(f.start <= m.start(1) < f.end for f in found):
            found.append(_Mention(int(m.group(1)), m.start(), m.end(), False, False, m.span(1), row=True))
    found.sort(key=lambda m: m.at)
    return [dataclasses.replace(m, joined=_joined(text, before, m)) if before else m
            for before, m in zip([None, *found], found)]


@dataclass(frozen=True)
class _Index:
    """Where a text names candidates and table heads, read once: each clause asks what came before it, and a
    scan from the start per clause made a long answer quadratic (4 s for 2,000 sentences)."""

    named: list[tuple[int, int]]  # (end, number) of each ``_NAMED`` mention, in order
    first_named: dict[int, int]  # number -> end of its first mention
    ordered: list[tuple[int, int, int]]  # (end, first number, last number) of each ``_ORDER`` match
    heads: list[int]  # (end) of each ``_TABLE_HEAD`` row start, in order
    head_starts: list[int]

    def last_named(self, at: int) -> int | None:
        """The candidate named last in a mention that ends by ``at``."""
        k = bisect.bisect_right(self.named, at, key=lambda n: n[0])
        return self.named[k - 1][1] if k else None

    def last_head(self, at: int) -> int | None:
        """Where the last table head that ends by ``at`` starts."""
        k = bisect.bisect_right(self.heads, at)
        return self.head_starts[k - 1] if k else None


@functools.lru_cache(maxsize=8)
def _index(text: str) -> _Index:
    named = [(m.end(), int(m.group(1))) for m in _NAMED.finditer(text)]
    first: dict[int, int] = {}
    for end, number in named:
        first.setdefault(number, end)
    ordered = []
    for m in _ORDER.finditer(text):
        numbers = [int(n) if n.isdigit() else 1 + (n.lower() == "second") for n in m.groups() if n is not None]
        ordered.append((m.end(), numbers[0], numbers[-1]))
    heads = list(_TABLE_HEAD.finditer(text))
    return _Index(named, first, ordered, [h.end() for h in heads], [h.start() for h in heads])


def _stance(text: str, start: int, at: int) -> dict:
    """Whether the words right before a mention at ``at`` make it a verdict against ("not candidate 1", "I
    disagree with candidate 1") or for ("I agree with candidate 1"), and where those words begin."""
    for key, pattern in (("against", _AGAINST), ("agreed", _FOR)):
        cue = pattern.search(text[start:at])
        if cue is not None:
            return {"against": key == "against", "agreed": key == "agreed", "cue": start + cue.start()}
    return {"against": False, "agreed": False, "cue": -1}


def _order(text: str, at: int) -> tuple[int, int] | None:
    """(former, latter): the candidates in the order the text names them before ``at``, where that order is
    one: first named first and last named last ("candidate 1 ... candidate 2", "candidate 2 and candidate 1");
    None where it names one candidate, or goes back ("candidate 1 ... candidate 2 ... candidate 1")."""
    ordered = _index(text).ordered
    k = bisect.bisect_right(ordered, at, key=lambda o: o[0])
    if k == 0:
        return None
    first, last = ordered[0][1], ordered[k - 1][2]
    return (first, last) if first != last else None


def _cells(text: str, mentions: list[_Mention], verdicts: dict[int, set[str]]) -> set[str]:
    """The verdicts of Yes/No cells in the table rows among ``mentions`` ("| 2 | Yes |" under "| Candidate |
    Correct? |"), each read by its column's header, added to ``verdicts``; the verdicts given."""
    said: set[str] = set()
    for m in mentions:
        head_at = _index(text).last_head(m.start) if m.row else None
        if head_at is None:
            continue
        head = _cells_of(text, head_at)
        for k, cell in enumerate(_cells_of(text, m.start)[1:], 1):
            answer = _YES_NO.fullmatch(cell)
            column = head[k] if k < len(head) else ""
            words = [(w, "+") for w in _POSITIVE.finditer(column)] + [(w, "-") for w in _NEGATIVE.finditer(column)]
            if answer is None or len(words) != 1:  # "Checked?" says nothing of right or wrong
                continue
            word, sign = words[0]
            yes = (answer.group(1).lower() in ("yes", "y", "true")) != bool(_NEGATION.search(column[:word.start()]))
            verdict = sign if yes else "+-".replace(sign, "")
            verdicts[m.number].add(verdict)
            said.add(verdict)
    return said


def _cells_of(text: str, at: int) -> list[str]:
    stop = text.find("\n", at)
    line = text[at:stop if stop >= 0 else len(text)].strip()
    return [c.strip() for c in line.strip("|").split("|")]


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


def _nearest(mentions: list[_Mention], at: int, text: str, start: int, end: int | None = None) -> _Mention | None:
    """The mention a verdict word at ``at`` (ending at ``end``) speaks of: the one a label names ("Correct: 2",
    "..., incorrect: candidate 1"), else the last one before it (past an aside after it: "candidate 1 (82) is
    wrong"), else the first after it where the clause names nothing else before the word ("Incorrect:
    candidate 1" speaks of candidate 1; "The argument is wrong: candidate 2." speaks of the argument)."""
    before = [m for m in mentions if m.end <= at]
    label = end is not None and _LABEL.match(text, end) and _LABEL_START.search(text[start:at])
    after = [m for m in mentions if m.start >= at]
    if label and after:
        return after[0]
    if before:
        own = _POSSESSIVE.match(text, before[-1].end, at)  # "Candidate 2's reasoning contains an error": its own
        aside = _ASIDE.match(text, before[-1].end, at)
        between = aside.end() if aside else before[-1].end
        return None if not own and _SUBJECT_NOUN.search(text, between, at) else before[-1]
    if _SUBJECT.search(text, start, at):
        return None
    return after[0] if after else None
