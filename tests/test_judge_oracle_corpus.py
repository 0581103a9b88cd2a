"""The judge oracle against a corpus of chains of thought written for it, each verdict read by a person.

Every entry below was written by hand for this test, and its expected verdict was decided by reading
the text as a person would (and doing the arithmetic by hand), never from the oracle's output.
An entry is ``(text, truth, correct, final, false_claims)``: the true answer of the question, whether
the text is correct, the final answer as written (``None``: no final answer), and the texts of the
false claims as the oracle quotes them: from the normalised text, where ``times`` shows as ``×``,
``twice N`` as ``2 × N``, ``half of N`` as ``1/2 × N``, LaTeX ``\\times``/``\\cdot`` as ``×`` and
``\\frac{a}{b}`` of two numbers as ``a/b``; units and currency signs after the result are not quoted.

``CLAIMS`` lists texts with every claim they make, in order, and whether each is true: no claim
invented, none missed.
"""

from __future__ import annotations

from fractions import Fraction as F

import pytest

from oraclebench.oracles.judge import claims, judge

pytestmark = pytest.mark.judge

# (id, text, truth, correct, final, false claims)
CORPUS = [
    # ---- GSM8K-style word problems
    ("gsm-clips", "Natalia sold 48 clips in April and half as many in May, so 48 / 2 = 24 in May. Altogether she "
     "sold 48 + 24 = 72 clips.", 72, True, "72", []),
    ("gsm-clips-wrong", "Natalia sold 48 clips in April and half as many in May, so 48 / 2 = 24 in May. Altogether "
     "she sold 48 + 24 = 82 clips.", 72, False, "82", ["48 + 24 = 82"]),
    ("gsm-weng", "Weng earns 12 / 60 = 0.2 dollars per minute. For 50 minutes she earned 0.2 x 50 = 10 dollars.",
     10, True, "10", []),
    ("gsm-betty", "Betty has 100 / 2 = 50 dollars. Her grandparents gave her 15 x 2 = 30 dollars. She needs "
     "100 - 50 - 30 - 15 = 5 more dollars.", 5, True, "5", []),
    ("gsm-betty-wrong", "Betty has 100 / 2 = 50 dollars. Her grandparents gave her 15 x 2 = 30 dollars. She needs "
     "100 - 50 - 30 - 15 = 15 more dollars.", 5, False, "15", ["100 - 50 - 30 - 15 = 15"]),
    ("gsm-james", "James writes 3 x 2 = 6 pages a week to each friend. He writes 6 x 2 = 12 pages a week. So he "
     "writes 12 x 52 = 624 pages a year.", 624, True, "624", []),
    ("gsm-flowers", "Mark has 10 yellow flowers and 80% more purple ones: 10 x 0.8 = 8 more, so 10 + 8 = 18 purple. "
     "Green: (10 + 18) x 0.25 = 7. Total 10 + 18 + 7 = 35 flowers.", 35, True, "35", []),
    ("gsm-pizza", "Albert buys 2 large pizzas with 16 slices each, so 2 x 16 = 32 slices, and 2 small pizzas with 8 "
     "slices each, so 2 x 8 = 16 slices. He eats 32 + 16 = 48 pieces.", 48, True, "48", []),
    ("gsm-pizza-wrong", "Albert buys 2 large pizzas with 16 slices each, so 2 x 16 = 32 slices, and 2 small pizzas "
     "with 8 slices each, so 2 x 8 = 18 slices. He eats 32 + 18 = 50 pieces.", 48, False, "50", ["2 x 8 = 18"]),
    ("gsm-ken", "Ken's box weighs 2 pounds; brownies triple it: 2 * 3 = 6. Another 2 pounds of jelly beans: "
     "6 + 2 = 8. Gummy worms double it: 8 * 2 = 16 pounds.", 16, True, "16", []),
    ("gsm-alexis", "Alexis spent 30 + 46 + 38 + 11 + 18 = 143 dollars, so the shoes cost 200 - 16 - 143 = 41 "
     "dollars.", 41, True, "41", []),
    ("gsm-alexis-wrong", "Alexis spent 30 + 46 + 38 + 11 + 18 = 133 dollars, so the shoes cost 200 - 16 - 133 = 51 "
     "dollars.", 41, False, "51", ["30 + 46 + 38 + 11 + 18 = 133"]),
    ("gsm-tina", "Tina makes $18.00 an hour. 8 hours of regular pay is 18 x 8 = 144 dollars. Overtime pays "
     "18 x 1.5 = 27 per hour, and 2 hours of overtime is 27 x 2 = 54. She earns 144 + 54 = 198 dollars.",
     198, True, "198", []),
    ("running-total", "The cost is 3 × 4 = 12 + 8 = 20 dollars.", 20, True, "20", []),
    ("running-total-wrong", "The cost is 3 × 4 = 13 + 8 = 21 dollars.", 20, False, "21", ["3 × 4 = 13"]),
    ("chain", "The area is 2 x 3 x 4 = 6 x 4 = 24 square feet.", 24, True, "24", []),
    ("chain-wrong", "The area is 2 x 3 x 4 = 6 x 4 = 28 square feet.", 24, False, "28", ["6 x 4 = 28"]),
    ("right-steps-wrong-final", "He has 6 x 4 = 24 eggs and uses 5, leaving 24 - 5 = 19. The answer is 20.",
     19, False, "20", []),
    ("wrong-step-right-final", "Each row has 12 / 4 = 4 seats. With 5 rows that is 5 x 3 = 15 seats.",
     15, False, "15", ["12 / 4 = 4"]),
    ("negative-step", "The temperature fell from 3 to -4 degrees, a change of -4 - 3 = -7 degrees.",
     -7, True, "-7", []),
    ("speed", "A car travels 150 miles in 3 hours, so its speed is 150 / 3 = 50 mph. In 5 hours it goes "
     "50 x 5 = 250 miles.", 250, True, "250", []),
    ("mixed-ops", "The store had 120 apples, sold 45 and received 30 more: 120 - 45 + 30 = 105 apples.",
     105, True, "105", []),
    ("mixed-ops-wrong", "The store had 120 apples, sold 45 and received 30 more: 120 - 45 + 30 = 45 apples.",
     105, False, "45", ["120 - 45 + 30 = 45"]),
    ("two-weeks", "She reads 20 pages a day for 2 weeks: 20 x 14 = 280 pages.", 280, True, "280", []),
    ("legs", "There are 4 x 6 = 24 legs on the chairs and 3 x 4 = 12 on the tables, 24 + 12 = 36 legs in all.",
     36, True, "36", []),
    ("parenthesised", "Total tickets = (7 × 5) + (4 × 3) = 35 + 12 = 47.", 47, True, "47", []),
    ("parenthesised-wrong", "Total tickets = (7 × 5) + (4 × 3) = 35 + 12 = 48.", 47, False, "48", ["35 + 12 = 48"]),
    ("precedence-wrong", "The total is 7 × 5 + 4 × 3 = 117.", 47, False, "117", ["7 × 5 + 4 × 3 = 117"]),
    ("glued-product", "The garden has 2(3 + 4) = 14 rows.", 14, True, "14", []),
    ("nested-parens", "The volume is ((2 + 3) × (4 + 1)) × 2 = 50 liters.", 50, True, "50", []),
    ("gsm-calculator", "She bakes 3*12=<<3*12=36>>36 muffins and sells 36-9=<<36-9=27>>27.\n#### 27",
     27, True, "27", []),
    ("gsm-calculator-wrong", "She bakes 3*12=<<3*12=36>>36 muffins and sells 36-9=<<36-9=27>>28.\n#### 28",
     27, False, "28", ["36-9=28"]),

    # ---- kind 1: labels and counts introduce the sentence; they are not the left side
    ("week-label", "Week 1 is 7 x 5 = 35 dollars. Week 2 is 8 x 5 = 40 dollars. Total: 35 + 40 = 75 dollars.",
     75, True, "75", []),
    ("in-2-hours", "In 2 hours she makes 2 * 18 = 36 dollars.", 36, True, "36", []),
    ("step-label", "Step 2 is 36 / 4 = 9.", 9, True, "9", []),
    ("the-3-bags", "The 3 bags hold 3 x 4 = 12 apples.", 12, True, "12", []),
    ("over-5-days", "Over 5 days that is 250 * 5 = 1,250 calories.", 1250, True, "1250", []),
    ("tip-15-percent", "A 15% tip on $40 is 0.15 x 40 = 6 dollars.", 6, True, "6", []),
    ("day-labels", "Day 3: 3 x 12 = 36 cookies. Day 4: 4 x 12 = 48 cookies. So the two days total 36 + 48 = 84 "
     "cookies.", 84, True, "84", []),
    ("step-lines", "Step 1: 5 + 7 = 12\nStep 2: 12 x 3 = 36\nStep 3: 36 - 6 = 30", 30, True, "30", []),
    ("week-label-wrong", "Week 1 is 7 x 5 = 36 dollars.", 35, False, "36", ["7 x 5 = 36"]),
    ("in-3-years", "In 3 years the tree grows 3 x 14 = 42 inches.", 42, True, "42", []),
    ("the-2-friends", "The 2 friends each pay 30 / 2 = 15 dollars.", 15, True, "15", []),
    ("for-4-weeks", "For 4 weeks at 5 days a week she works 4 x 5 = 20 days.", 20, True, "20", []),
    ("month-equals", "Month 12 = 12 x 100 = 1,200 dollars saved.", 1200, True, "1200", []),
    ("after-6-months", "After 6 months, 6 x 250 = 1,500 dollars.", 1500, True, "1500", []),
    ("round-gives", "Round 2 gives 2 + 2 = 4 points.", 4, True, "4", []),
    ("groups", "Group 1 has 3 x 8 = 24 students and group 2 has 2 x 9 = 18 students, so there are 24 + 18 = 42 "
     "students.", 42, True, "42", []),
    ("bus-3", "Bus 3 carries 40 people, so 3 buses carry 3 x 40 = 120 people.", 120, True, "120", []),
    ("in-mixed-hours", "In 2 1/2 hours she walks 2.5 x 4 = 10 miles.", 10, True, "10", []),
    ("room-101", "Room 101 has 4 rows of 6 desks: 4 x 6 = 24 desks.", 24, True, "24", []),
    ("question-2", "Question 2: 45 / 9 = 5", 5, True, "5", []),
    ("by-age-10", "By age 10 she had saved 10 x 12 = 120 dollars.", 120, True, "120", []),
    ("the-1990s", "The 1990s saw 3 x 4 = 12 new parks.", 12, True, "12", []),
    ("year-range", "In 2019-2020 she sold 12 + 8 = 20 cakes.", 20, True, "20", []),

    # ---- kind 2: signs, fractions, mixed numbers and decimals in final answers
    ("answer-negative", "The temperature drops 8 degrees from -3: -3 - 8 = -11. The answer is -11.",
     -11, True, "-11", []),
    ("boxed-negative", "The net change is 10 - 15 = -5.\n\n$$\\boxed{-5}$$", -5, True, "-5", []),
    ("boxed-negative-vs-positive", "The profit is 15 - 10 = 5.\n\n$$\\boxed{-5}$$", 5, False, "-5", []),
    ("boxed-frac", "Each gets $\\frac{3}{4}$ of a pizza, so the answer is $\\boxed{\\frac{3}{4}}$.", F(3, 4), True,
     "3/4", []),
    ("answer-fraction", "The answer is 3/4.", 0.75, True, "3/4", []),
    ("answer-fraction-not-3", "The answer is 3/4.", 3, False, "3/4", []),
    ("mixed-number-final", "She ate 2 1/2 pizzas in total.", 2.5, True, "5/2", []),
    ("dfrac-final", "The answer is $\\dfrac{5}{2}$.", 2.5, True, "5/2", []),
    ("decimal-final", "Each share is 7 / 2 = 3.5 cups. The answer is 3.5.", 3.5, True, "3.5", []),
    ("eighth", "So the answer is 0.125.", F(1, 8), True, "1/8", []),
    ("hashes-negative", "The balance is 20 - 32 = -12.\n#### -12", -12, True, "-12", []),
    ("boxed-mixed", "Total: 1/2 + 2 = 2 1/2 cups. $\\boxed{2\\frac{1}{2}}$", 2.5, True, "5/2", []),
    ("negative-half", "The final answer is -0.5.", -0.5, True, "-1/2", []),
    ("unicode-minus-final", "The answer is −7.", -7, True, "-7", []),
    ("bold-answer-negative", "**Answer:** -15 degrees", -15, True, "-15", []),
    ("third-of-cake", "The answer is $\\frac{1}{3}$ of the cake.", F(1, 3), True, "1/3", []),
    ("boxed-frac-value", "The average is $\\boxed{\\frac{246}{3}}$", 82, True, "82", []),
    ("hence-negative", "Hence x = -4.", -4, True, "-4", []),
    ("mixed-cups", "The answer is 1 3/4 cups.", 1.75, True, "7/4", []),
    ("decimal-not-integer", "The answer is 12.5.", 12, False, "12.5", []),
    ("boxed-with-text", "$\\boxed{47 \\text{ tickets}}$", 47, True, "47", []),
    ("boxed-dollars", "The yearly total is $\\boxed{\\$14{,}400}$", 14400, True, "14400", []),
    ("fraction-not-half", "The answer is 3/4.", 0.5, False, "3/4", []),
    ("negative-start", "So Tom has -3 + 10 = 7 marbles.", 7, True, "7", []),
    ("vulgar-half", "Each child gets 2½ cookies.", 2.5, True, "5/2", []),

    # ---- kind 3: rounding is right only when correctly rounded to the precision stated
    ("third-is-not-0.4", "1/3 = 0.4, so the answer is 0.4.", F(1, 3), False, "2/5", ["1/3 = 0.4"]),
    ("sum-rounds-to-0.5", "0.25 + 0.26 = 0.6", 0.51, False, "3/5", ["0.25 + 0.26 = 0.6"]),
    ("product-rounds-to-15.1", "7.56 x 2 = 15.2", 15.12, False, "15.2", ["7.56 x 2 = 15.2"]),
    ("about-4", "10/3 is about 4", F(10, 3), False, "4", ["10/3 is about 4"]),
    ("three-friends", "Each of 3 friends pays 10 / 3 = 3.33 dollars.", F(10, 3), True, "3.33", []),
    ("approx-3.3", "10 / 3 ≈ 3.3, so each gets about 3.3 liters.", F(10, 3), True, "3.3", []),
    ("two-thirds-0.67", "2/3 = 0.67", F(2, 3), True, "0.67", []),
    ("two-thirds-0.66", "2/3 = 0.66", F(2, 3), False, "0.66", ["2/3 = 0.66"]),
    ("integer-result-exact", "100 / 3 = 33", F(100, 3), False, "33", ["100 / 3 = 33"]),
    ("exact-square", "1.5 x 1.5 = 2.25", 2.25, True, "2.25", []),
    ("average-2.83", "The average is 17 / 6 ≈ 2.83 hours.", F(17, 6), True, "2.83", []),
    ("average-2.84", "The average is 17 / 6 ≈ 2.84 hours.", F(17, 6), False, "2.84", ["17 / 6 ≈ 2.84"]),
    ("pi-ish", "22 / 7 = 3.14", F(22, 7), True, "3.14", []),
    ("pi-ish-wrong", "22 / 7 = 3.15", F(22, 7), False, "3.15", ["22 / 7 = 3.15"]),
    ("split-bill", "$10 split 3 ways is 10 / 3 = $3.33 each, and 3 x $3.33 = $9.99.", 9.99, True, "9.99", []),
    ("ratio-0.78", "The ratio is 7 / 9 = 0.78.", F(7, 9), True, "0.78", []),
    ("ratio-0.77", "The ratio is 7 / 9 = 0.77.", F(7, 9), False, "0.77", ["7 / 9 = 0.77"]),
    ("per-day", "Roughly, 1000 / 7 ≈ 142.9 per day.", F(1000, 7), True, "142.9", []),
    ("per-day-142", "1000 / 7 ≈ 142 per day.", F(1000, 7), False, "142", ["1000 / 7 ≈ 142"]),
    ("growth", "The growth is 3.7 x 4.2 = 15.54 cm.", 15.54, True, "15.54", []),
    ("tenths", "0.1 + 0.2 = 0.3", 0.3, True, "0.3", []),
    ("float-artifact", "0.1 + 0.2 = 0.30000000000000004", 0.3, False, "0.30000000000000004",
     ["0.1 + 0.2 = 0.30000000000000004"]),
    ("minutes-to-hours", "45 minutes is 45 / 60 = 0.75 hours.", 0.75, True, "0.75", []),
    ("quarter-hour-wrong", "45 minutes is 45 / 60 = 0.7 hours.", 0.75, False, "0.7", ["45 / 60 = 0.7"]),

    # ---- LaTeX
    ("latex-inline", "The total is $3 \\times 12 = 36$ eggs.", 36, True, "36", []),
    ("latex-frac", "$$\\frac{120}{8} = 15$$ so each box has 15.", 15, True, "15", []),
    ("latex-frac-wrong", "$$\\frac{120}{8} = 16$$ so each box has 16.", 15, False, "16", ["120/8 = 16"]),
    ("latex-cdot", "\\[ 4 \\cdot 7 + 2 = 30 \\]", 30, True, "30", []),
    ("latex-cdot-wrong", "\\[ 4 \\cdot 7 + 2 = 32 \\]", 30, False, "32", ["4 × 7 + 2 = 32"]),
    ("latex-dfrac-of", "We get $\\dfrac{3}{4} \\times 80 = 60$ students. $\\boxed{60}$", 60, True, "60", []),
    ("latex-power", "$2^{10} = 1024$ bytes, so the answer is $\\boxed{1024}$.", 1024, True, "1024", []),
    ("latex-power-wrong", "$2^{10} = 1000$ bytes, so the answer is $\\boxed{1000}$.", 1024, False, "1000",
     ["2^10 = 1000"]),
    ("latex-fraction-sum", "\\(\\frac{1}{2} + \\frac{1}{4} = \\frac{3}{4}\\)", 0.75, True, "3/4", []),
    ("latex-div", "\\[ 12 \\div 4 = 3 \\]", 3, True, "3", []),
    ("latex-average-wrong", "$\\frac{90 + 85 + 80}{3} = \\frac{255}{3} = 86$", 85, False, "86", ["255/3 = 86"]),
    ("latex-three-steps", "$7 \\times 5 = 35$, $4 \\times 3 = 12$, $35 + 12 = 47$. The answer is $\\boxed{47}$.",
     47, True, "47", []),
    ("latex-thin-space", "\\[ 1\\,200 \\times 3 = 3\\,600 \\]", 3600, True, "3600", []),
    ("latex-sqrt-unsupported", "$\\sqrt{16} + 2 = 6$", 6, True, "6", []),
    ("latex-sqrt-not-invented", "$\\sqrt{16} + 2 = 7$", 6, False, "7", []),
    ("latex-frac-decimal", "$\\frac{3}{4} = 0.75$", 0.75, True, "0.75", []),
    ("latex-cdot-chain", "$3 \\cdot 4 \\cdot 5 = 60$", 60, True, "60", []),
    ("latex-text-units-wrong", "$35 \\text{ tickets} + 12 \\text{ tickets} = 57 \\text{ tickets}$", 47, False, "57",
     ["35 tickets + 12 tickets = 57"]),
    ("latex-percent-of", "The discount is $20\\%$ of $\\$80$, i.e. $0.2 \\times 80 = 18$.", 16, False, "18",
     ["0.2 × 80 = 18"]),
    ("latex-left-right", "$\\left(6 + 4\\right) \\times 3 = 30$", 30, True, "30", []),

    # ---- markdown
    ("md-steps", "**Step 1:** 6 × 8 = 48 eggs\n**Step 2:** 48 − 12 = 36 eggs\n\n**Answer: 36**", 36, True, "36", []),
    ("md-numbered-money", "1. Cost of apples: 4 × $0.50 = $2.00\n2. Cost of pears: 3 × $0.75 = $2.25\n3. Total: "
     "$2.00 + $2.25 = $4.25\n\nThe total is **$4.25**.", 4.25, True, "4.25", []),
    ("md-numbered-money-wrong", "1. Cost of apples: 4 × $0.50 = $2.00\n2. Cost of pears: 3 × $0.75 = $2.25\n3. "
     "Total: $2.00 + $2.25 = $4.50\n\nThe total is **$4.50**.", 4.25, False, "4.5", ["$2.00 + $2.25 = $4.50"]),
    ("md-bullets", "- Monday: 12 + 8 = 20\n- Tuesday: 20 - 5 = 15\n\n**15 books** remain.", 15, True, "15", []),
    ("md-table", "| Item | Cost |\n|---|---|\n| Pens | 3 × 2 = 6 |\n| Paper | 4 × 5 = 20 |\n\nTotal: 6 + 20 = "
     "**26** dollars", 26, True, "26", []),
    ("md-heading", "### Solution\n\nShe bakes 3 × 24 = 72 cookies and sells 72 - 18 = 54.\n\n**Final answer: 54**",
     54, True, "54", []),
    ("md-bold-total-wrong", "**Total:** 35 + 12 = **57 tickets**", 47, False, "57", ["35 + 12 = 57"]),
    ("md-paren-list", "1) 9 × 9 = 81\n2) 81 + 19 = 100\n\nSo the answer is **100**.", 100, True, "100", []),
    ("md-code", "The answer is `42`. Check: `6 * 7 = 42`.", 42, True, "42", []),
    ("md-star-bullets", "* 5 + 5 = 10\n* 10 × 3 = 30\n\n**30**", 30, True, "30", []),
    ("md-underscore-bold", "__Answer__: 7 × 6 = 42", 42, True, "42", []),
    ("md-bold-claim-wrong", "So **8 × 7 = 54** and the answer is **54**.", 56, False, "54", ["8 × 7 = 54"]),

    # ---- currency, percent, units, thousands separators
    ("thousands-dollars", "The company earns $1,200 per month, so over 12 months it earns $1,200 × 12 = $14,400.",
     14400, True, "14400", []),
    ("thousands-dollars-wrong", "The company earns $1,200 per month, so over 12 months it earns $1,200 × 12 = "
     "$14,000.", 14400, False, "14000", ["$1,200 × 12 = $14,000"]),
    ("percent-of", "25% of 60 is 15, so 60 - 15 = 45 remain.", 45, True, "45", []),
    ("percent-of-wrong", "25% of 60 is 12, so 60 - 12 = 48 remain.", 45, False, "48", ["25% of 60 is 12"]),
    ("percent-word", "A 20 percent discount on $250 is 0.2 × 250 = $50, so she pays 250 - 50 = $200.",
     200, True, "200", []),
    ("percent-result", "The price rose from $40 to $50, an increase of 10 / 40 = 25%.", 25, True, "25", []),
    ("percent-result-wrong", "The price rose from $40 to $50, an increase of 10 / 40 = 20%.", 25, False, "20",
     ["10 / 40 = 20%"]),
    ("km-per-day", "She runs 5 km/day × 7 days = 35 km.", 35, True, "35", []),
    ("liters-per-minute", "The tank fills at 12 liters per minute for 15 minutes: 12 × 15 = 180 liters.",
     180, True, "180", []),
    ("euros", "Four tickets cost €4.50 × 4 = €18.00.", 18, True, "18", []),
    ("pounds-wrong", "The bill is £3.20 + £1.80 = £5.10.", 5, False, "5.1", ["£3.20 + £1.80 = £5.10"]),
    ("miles-thousands", "The trip is 2,450 miles; at 350 miles a day it takes 2,450 / 350 = 7 days.", 7, True, "7", []),
    ("million", "1,000,000 / 1,000 = 1,000", 1000, True, "1000", []),
    ("thousands-sum", "12,345 + 6,789 = 19,134", 19134, True, "19134", []),
    ("thousands-sum-wrong", "12,345 + 6,789 = 19,124", 19134, False, "19124", ["12,345 + 6,789 = 19,124"]),
    ("savings", "She saves 15% of $2,000, which is 0.15 × 2,000 = $300.", 300, True, "300", []),
    ("tip", "The bill is $84; a 15% tip is 15% × $84 = $12.60, so she pays $84 + $12.60 = $96.60.",
     96.6, True, "96.6", []),
    ("grams", "The recipe needs 250 g × 3 = 750 g of flour.", 750, True, "750", []),
    ("mph", "At 60 mph for 2.5 hours: 60 × 2.5 = 150 miles.", 150, True, "150", []),
    ("units-each-side", "5 tickets × 7 rides = 35 tickets", 35, True, "35", []),
    ("percent-of-percent", "50% of 50% is 25%", 25, True, "25", []),
    ("per-hour", "She earns $12/hour × 8 hours = $96", 96, True, "96", []),
    ("per-hour-wrong", "She earns $12/hour × 8 hours = $86", 96, False, "86", ["$12/hour × 8 hours = $86"]),
    ("cents", "Notebooks: 3 × $2.50 = $7.50. Pens: 2 × $1.25 = $2.50. Total: $7.50 + $2.50 = $10.00.",
     10, True, "10", []),
    ("sale-price", "20% of $80 is $16, so the sale price is $80 - $16 = $64.", 64, True, "64", []),

    # ---- words for operations
    ("twice", "Twice 18 is 36, and 36 plus 4 is 40 cupcakes.", 40, True, "40", []),
    ("half-of", "Half of 90 is 45, and 45 minus 15 equals 30.", 30, True, "30", []),
    ("half-of-wrong", "Half of 90 is 40, and 40 minus 15 equals 25.", 30, False, "25", ["1/2 × 90 is 40"]),
    ("multiplied-divided", "12 multiplied by 4 gives 48, and 48 divided by 6 is 8.", 8, True, "8", []),
    ("multiplied-wrong", "12 multiplied by 4 gives 46, so the answer is 46.", 48, False, "46", ["12 × 4 gives 46"]),
    ("times-equals", "3 times 15 equals 45 minutes.", 45, True, "45", []),
    ("doubles-twice", "She doubles her 15 stickers: twice 15 is 30.", 30, True, "30", []),
    ("percent-word-of", "25 percent of 80 is 20, so 80 minus 20 is 60.", 60, True, "60", []),
    ("divided-decimal", "100 divided by 8 equals 12.5 pizzas.", 12.5, True, "12.5", []),
    ("divided-decimal-wrong", "100 divided by 8 equals 12.4 pizzas.", 12.5, False, "12.4", ["100 ÷ 8 equals 12.4"]),
    ("plus-plus", "7 plus 8 plus 9 equals 24.", 24, True, "24", []),
    ("half-and-third", "Half of 50 is 25 and a third of 60 is 20, so together 25 + 20 = 45.", 45, True, "45", []),
    ("twice-as-many", "She has twice as many apples as pears. With 6 pears, she has 2 x 6 = 12 apples.",
     12, True, "12", []),
    ("twice-wrong", "Twice 7 is 15.", 14, False, "15", ["2 × 7 is 15"]),
    ("minus-plus", "20 minus 5 plus 3 is 18 birds.", 18, True, "18", []),
    ("seed-words", "7 times 5 is 35, and 4 times 3 is 12. 35 plus 12 equals 47, so Janet needs 47 tickets.",
     47, True, "47", []),

    # ---- nothing invented: prose, unsupported forms and equations are no claims
    ("sum-of-words", "The sum of 35 and 12 is 47.", 47, True, "47", []),
    ("number-words", "Janet needs forty-seven tickets.", 47, False, None, []),
    ("times-in-prose", "She rode 7 times, 5 of them at night, and bought 3 snacks. The answer is 7.", 7, True, "7", []),
    ("equation", "Solve 2x + 3 = 11: 2x = 8, so x = 4.", 4, True, "4", []),
    ("phone-number", "Call 555-1234 for tickets; the answer is 47.", 47, True, "47", []),
    ("ratio-colon", "The ratio is 3:4, and 3 + 4 = 7 parts.", 7, True, "7", []),
    ("variable-tail", "x + 3 + 4 = 10 gives x = 3.", 3, True, "3", []),
    ("dots", "1 + 2 + \\cdots + 10 = 55, so the answer is 55.", 55, True, "55", []),
    ("not-equal", "Note that 3 + 4 ≠ 8; the total is 3 + 4 = 7.", 7, True, "7", []),
    ("no-number", "I cannot determine how many tickets Janet needs.", 47, False, None, []),

    # ---- huge numbers: exact, or unreadable, never a crash
    ("huge-exact", "9" * 400 + " + 1 = 1" + "0" * 400 + ", so the answer is 1" + "0" * 400 + ".",
     10 ** 400, True, str(10 ** 400), []),
    ("huge-wrong", "9" * 400 + " + 1 = 9" + "0" * 400 + ".", 10 ** 400, False, "9" + "0" * 400,
     ["9" * 400 + " + 1 = 9" + "0" * 400]),
    ("unreadable-final", "The answer is " + "9" * 5000 + ".", 47, False, None, []),

    # ---- more of each family
    ("double-equals", "35 + 12 == 47, so the answer is 47.", 47, True, "47", []),
    ("double-equals-wrong", "35 + 12 == 48, so the answer is 48.", 47, False, "48", ["35 + 12 = 48"]),
    ("si-thousands", "The hall seats 1\u202f000 × 2 = 2\u202f000 people.", 2000, True, "2000", []),
    ("spaced-fraction-final", "The answer is 7 / 8.", F(7, 8), True, "7/8", []),
    ("space-thousands-final", "The school has 2 × 500 = 1 000 students.", 1000, True, "1000", []),
    ("indian-grouping-final", "The answer is 1,00,000 rupees.", 100000, True, "100000", []),
    ("inline-math-negative", "The change is $5 - 8 = -3$, so the answer is $-3$.", -3, True, "-3", []),
    ("boxed-negative-frac", "$$\\boxed{-\\frac{3}{4}}$$", -0.75, True, "-3/4", []),
    ("hashes-negative-fraction", "Each share is -3/4.\n#### -3/4", -0.75, True, "-3/4", []),
    ("squared", "The square has 5 squared = 25 tiles.", 25, True, "25", []),
    ("percent-factor", "The sale price is $80 × 90% = $72.", 72, True, "72", []),
    ("truncated-not-rounded", "1/7 = 0.1428", F(1, 7), False, "0.1428", ["1/7 = 0.1428"]),
    ("negative-rounded", "Each loses -10/3 = -3.33 dollars.", F(-10, 3), True, "-3.33", []),
    ("integer-percent-exact", "One of three is 1/3 = 33%.", 33, False, "33", ["1/3 = 33%"]),
    ("superscripts", "By Pythagoras, 3² + 4² = 25. So the side is 5.", 5, True, "5", []),
    ("superscripts-wrong", "By Pythagoras, 3² + 4² = 24. So the side is 5.", 5, False, "5", ["3^2 + 4^2 = 24"]),
    ("scientific", "Light covers 3e5 km/s × 60 s = 1.8e7 km in a minute.", 18_000_000, True, "18000000", []),
    ("scientific-wrong", "Light covers 3e5 km/s × 60 s = 1.8e6 km in a minute.", 18_000_000, False, "1800000",
     ["3e5 km/s × 60 s = 1.8e6"]),
]


@pytest.mark.parametrize("text,truth,correct,final,false", [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_the_corpus_gets_the_verdict_a_person_gives(text, truth, correct, final, false):
    v = judge(text, truth)
    assert [c.text for c in v.false_claims] == false, v.reason
    assert v.final == (None if final is None else F(final)), v.reason
    assert v.correct is correct, v.reason
    assert (v.reason == "") == correct
    for claim in false:  # the verdict names each false claim
        assert claim in v.reason or len(claim) > 80


def test_the_corpus_is_large_and_mixed():
    assert len(CORPUS) >= 150 and len({c[0] for c in CORPUS}) == len(CORPUS)
    assert sum(c[3] for c in CORPUS) >= 60 and sum(not c[3] for c in CORPUS) >= 50


# (text, [(claim text, true?), ...]): every claim, in order
CLAIMS = [
    ("Week 1 is 7 x 5 = 35", [("7 x 5 = 35", True)]),
    ("Week 1 = 7 x 5 = 35", [("7 x 5 = 35", True)]),
    ("In 2 hours she makes 2 * 18 = 36", [("2 * 18 = 36", True)]),
    ("A 15% tip on $40 is 0.15 x 40 = 6", [("0.15 x 40 = 6", True)]),
    ("7 × 5 = 35 + 12 = 47", [("7 × 5 = 35", True), ("35 + 12 = 47", True)]),
    ("47 = 35 + 12", [("47 = 35 + 12", True)]),
    ("Total: 48 = 40 + 9", [("48 = 40 + 9", False)]),
    ("5 + 5 = 10 = 2 x 5", [("5 + 5 = 10", True), ("10 = 2 x 5", True)]),
    ("3 + 4 = 8 + 1 = 9", [("3 + 4 = 8", False), ("8 + 1 = 9", True)]),  # a running total
    ("3 + 4 = 8 - 1 = 7", [("3 + 4 = 8 - 1", True), ("8 - 1 = 7", True)]),  # equal sides
    ("The difference is 5 - 8 = -3", [("5 - 8 = -3", True)]),
    ("2(3 + 4) = 14", [("2(3 + 4) = 14", True)]),
    ("1/2 + 1/3 = 5/6", [("1/2 + 1/3 = 5/6", True)]),
    ("1/2 + 1/3 = 2/5", [("1/2 + 1/3 = 2/5", False)]),
    ("10/3 = 3 1/3", [("10/3 = 3 1/3", True)]),
    ("Twice 7 is 14", [("2 × 7 is 14", True)]),
    ("7 × 5 is about 35", [("7 × 5 is about 35", True)]),
    ("100 / 3 is about 33", [("100 / 3 is about 33", True)]),
    ("1000 / 7 ≈ 143", [("1000 / 7 ≈ 143", True)]),
    ("10 / 4 = 2 and 10 / 4 = 2.5", [("10 / 4 = 2", False), ("10 / 4 = 2.5", True)]),
    ("3.7 x 4.2 = 15.5", [("3.7 x 4.2 = 15.5", True)]),
    ("1/3 = 33.3%", [("1/3 = 33.3%", True)]),
    ("2 / 7 ≈ 0.29", [("2 / 7 ≈ 0.29", True)]),
    ("1.5 x 1.5 = 2.3 and 1.5 x 1.5 = 2.2", [("1.5 x 1.5 = 2.3", True), ("1.5 x 1.5 = 2.2", True)]),  # a tie
    ("1.5 x 1.5 = 2.4", [("1.5 x 1.5 = 2.4", False)]),
    ("2x + 3 + 1 = 7", []),
    ("The sum of 35 and 12 is 57.", []),
    ("$\\sqrt{16} + 2 = 6$", []),
    ("1 + 2 + \\cdots + 10 = 56", []),
    ("12 / 0 = 0", []),
    ("3 + 4 = 7 + y", []),
    ("She rode 7 times, 5 of them at night.", []),
    ("Year 2020 - 1990 = 30", [("2020 - 1990 = 30", True)]),
    ("50% + 25% = 75%", [("50% + 25% = 75%", True)]),
    ("$80 + 10% = $88", []),
    ("10% off $80 is $72", []),
    ("12 : 4 = 3", []),
    ("1 000 × 2 = 2 000", []),  # a space between thousands: not "000 × 2 = 2"
    ("1,00,000 + 5 = 1,00,005", []),  # Indian grouping: not "00,000 + 5 = 1"
    ("2 (3 + 4) = 14", []),  # a product or "Step 2": not "(3 + 4) = 14"
    ("1/3 ≈ 33%", [("1/3 ≈ 33%", True)]),
    ("2/3 ≈ 0.667", [("2/3 ≈ 0.667", True)]),
]


@pytest.mark.parametrize("text,expected", CLAIMS, ids=[c[0][:40] for c in CLAIMS])
def test_every_claim_is_found_and_none_is_invented(text, expected):
    assert [(c.text, c.ok) for c in claims(text)] == expected
