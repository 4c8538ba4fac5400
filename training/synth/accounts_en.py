"""English pools only the account corpus uses (training/synth/accounts.py): a youth-club organiser,
the one hard-negative role with many young contacts the shared pools did not have (the tutor and the
coach are `tutor_grade` and `coach_rides` in hard_negatives_en.py).

Kept out of the language pack on purpose: adding a scenario to `LangPack.hard_negatives` would change
the corpus every existing seed of `data synth` writes. Legitimate age, schedule and location questions
only, asked in the open (forms, parents, the club newsletter); never secrecy or private meetings.
"""

from __future__ import annotations

from groomguard.training.synth.benign_en import S, Scenario

YOUTH_CLUB: Scenario = S("youth_club", "adult_teen", True, (
    "[hi|hello] [{name}|] [welcome to|thanks for signing up for] the youth club [what|which] age group [are you in|should we put you in]",
    "[the|our] [11-13|12-14|juniors] group [meets|is on] {day} at {time} [at|in] the [community centre|church hall|library]",
    "[what|which] [part of town|area|neighbourhood] [do you live in|are you in] [so we can|we will] [sort|plan] [carpools|the minibus route]",
    "[your|ur] [parent|mum|dad|guardian] [needs to|has to] [sign|fill in] the [consent|permission|medical] form [before|for] the [trip|camp|hike]",
    "[how old|what age] [are you|r u] [now|this year] [the|our] [climbing|camping|swimming] trip is [for|only for] [12+|13 and up|ages 12-15]",
    "[pickup|drop off] [is|will be] [at|from] {place} [at|by] {time} [parents|please ask a parent to] [collect|be there]",
    "[we|i] [post|share] [all|the] [updates|times|photos] in the [parents group|club newsletter|parents email] [not|never] [in dms|privately]",
    "[bring|pack] [a|your] [packed lunch|water bottle|rain jacket|swimsuit] [for|on] {day} [and|plus] [the|a] [signed form|few snacks|bus pass]",
    "[is|will] [your|ur] [mum|dad|parent|carer] [be|] [dropping you off|picking you up] [on|this] {day} [or|] [are you walking|getting the bus] [?|]",
    "[what|which] school [are you at|do you go to] [we|so we can] [split|group] [the teams|people] [by school|by year]",
    "[the|our] [club|session] [on|this] {day} [is|has been] [cancelled|moved to {time}] [i|we] [emailed|told] [your parents|everyone] [too|already]",
    "[well done|great job] [at|on] [the|our] [quiz night|litter pick|five a side] [today|on {day}] [your|ur] [team|group] [won|did great]",
), (
    "[im|i'm] {kid_age} [so|] [the|] [juniors|seniors] [i think|?|]",
    "[my|ma] [mum|dad] [will|can] [sign|fill in] [it|the form] [tonight|tomorrow]",
    "[ok|kk] [thanks|ty] [see you|see u] [on|] {day}",
    "[i|we] live [near|by] {place} [lol|]",
    "[my|ma] [dad|mum] [is|will be] [dropping me off|picking me up] [i think|]",
    "[yes|yeah] [ill|i'll] [bring|pack] [it|them] [lol|]",
    "[im|i'm] at {school} [in|] {grade} [grade|year|]",
    "[cool|nice] [can|is] [my|ma] [friend|{friend}] [come|coming] [too|as well] [?|]",
))
