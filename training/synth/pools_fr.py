"""French pools (≈10% of the corpus): natural chat French ("slt", "tkt", "jsp", "mdr").

Same structure and content rule as the English pools: tactics only, never explicit.
"""

from __future__ import annotations

from groomguard.training.synth.benign_en import Cast, S, Scenario
from groomguard.training.synth.langpack import LangPack
from groomguard.training.synth.slots_en import SLOTS as EN_SLOTS
from groomguard.training.synth.templates import Pool, pools_by_name

P = Pool

# A spoken-French tail on tactic, reply and scenario lines ("mdr", "frr", "hein"...): natural chat
# French, and it multiplies the surface forms of the (shorter) French pools.
_FT = " [|mdr|frr|hein|là|quoi|franchement|sérieux|tkt]"


def FP(name: str, templates: tuple[str, ...]) -> Pool:
    return Pool(name, tuple(t + _FT for t in templates))


def FS(name: str, cast: Cast, hard: bool, lead: tuple[str, ...], reply: tuple[str, ...]) -> Scenario:
    return S(name, cast, hard, tuple(t + _FT for t in lead), tuple(t + _FT for t in reply))

SLOTS: dict[str, tuple[str, ...]] = {
    **EN_SLOTS,
    "kid_age": ("11", "12", "13", "14", "15", "onze", "douze", "treize", "quatorze"),
    "grade": ("6e", "5e", "4e", "3e", "sixième", "cinquième", "quatrième", "troisième"),
    "school": ("collège jean moulin", "collège victor hugo", "le collège", "collège pasteur", "collège camus"),
    "city": ("lyon", "marseille", "lille", "nantes", "bordeaux", "toulouse", "montréal", "bruxelles", "rennes"),
    "place": ("le parc", "le centre commercial", "la gare", "le mcdo", "le skatepark", "la médiathèque",
              "la piscine", "le ciné", "l'arrêt de bus", "le city stade"),
    "subject": ("maths", "français", "histoire", "svt", "anglais", "physique", "techno", "espagnol", "sport"),
    "day": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche", "demain", "ce soir", "ce week-end"),
    "time": ("16h", "17h", "18h", "14h", "après les cours", "après l'entraînement", "midi", "20h"),
    "relative": ("ma mère", "mon père", "ma daronne", "mon daron", "ma grand-mère", "mon beau-père", "ma tante"),
    "sibling": ("mon frère", "ma sœur", "mon petit frère", "ma grande sœur"),
    "food": ("pâtes", "pizza", "tacos", "burger", "crêpes", "kebab", "gratin", "sushis", "frites", "raclette"),
    "feeling": ("crevé", "saoulé", "malade", "grave chaud", "tranquille", "stressé", "dégoûté", "content"),
    "item": ("chargeur", "casque", "sweat", "sac", "manette", "cahier", "calculatrice", "téléphone"),
    "pet": ("chien", "chat", "lapin", "hamster", "chiot", "poisson"),
    "sport": ("foot", "basket", "hand", "natation", "judo", "danse", "tennis", "rugby"),
    "work_thing": ("le rapport", "la présentation", "le devis", "le planning", "la réunion client", "le budget"),
}

TACTICS = (
    FP("age_probe", ("[t'as|tu as] quel [âge|age] [au fait|déjà|]", "[t'es|tu es] en quelle classe [cette année|]",
                    "[tu habites|t'habites] [où|dans quelle ville] [exactement|]", "[t'es|tu es] dans quel collège [déjà|]",
                    "[t'es|tu es] [au collège|en {grade}] [c'est ça|non|]", "[t'habites|tu habites] [loin|près] de {place} [?|]")),
    FP("flattery", ("[t'es|tu es] [trop|super|vraiment] [mature|intelligente|intelligent] pour ton âge",
                   "[franchement|sérieux] [tu fais|t'as l'air] [plus|beaucoup plus] [vieux|vieille|grande] que {kid_age} ans",
                   "[t'es|tu es] [pas comme|différente des|différent des] autres [jeunes|filles|gars] [de ton âge|]",
                   "[ta|t'as une] [photo de profil|pdp] [est|trop] [trop belle|magnifique|stylée]",
                   "[j'adore|j'aime trop] [parler avec toi|ta façon de penser] [sérieux|franchement|]",
                   "[personne|aucun gars] [dans ta classe|de ton âge] [est|n'est] aussi [mature|cool] que toi")),
    FP("only_one", ("[je suis|jsuis] le seul qui te [comprend|comprends] [vraiment|]",
                   "[tes parents|ta mère] [te comprennent|te comprend] pas comme moi [je te comprends|]",
                   "[tu peux|tu pourras] tout me dire [je te jugerai jamais|je suis là pour toi]",
                   "[on a|y'a] [un truc|une connexion] [spécial|spéciale|unique] [toi et moi|nous deux]",
                   "[moi|perso] je [te laisserai|t'abandonnerai] jamais comme [les autres|tes potes]",
                   "[personne|aucun de tes potes] [tient|ne tient] à toi autant que moi")),
    FP("gifts", ("[tu veux|tu voudrais] [des|que je t'envoie des] {currency} [?|pour {game}|]",
                "[je peux|j'peux] t'acheter [le skin|le pass|le pack] [que tu veux|sur {game}] [tkt|gratuit|]",
                "[je t'ai|jt'ai] [envoyé|acheté] {amount} {currency} [regarde ton compte|surprise|]",
                "[donne moi|envoie] ton [pseudo|identifiant] [et je t'envoie|je t'envoie] des {currency}",
                "[tkt|t'inquiète] pour [l'argent|les sous] [je gère|je paye] [moi|]",
                "[j'ai|jai] une carte cadeau [en trop|en rab] [tu la veux|elle est pour toi] [?|]")),
    FP("parent_check", ("[tes parents|ta mère] [regardent|regarde] ton [tel|portable|téléphone] [?|des fois|]",
                       "[tes parents|tes darons] [sont|sont pas] [là|à la maison] [là|ce soir|maintenant]",
                       "[t'es|tu es] [toute seule|tout seul|seule|seul] chez toi [là|maintenant|ce soir]",
                       "[ils rentrent|tes parents rentrent] à quelle heure [en général|ce soir|]",
                       "[ils|tes parents] [ont|mettent] un contrôle parental sur ton [tel|téléphone] [?|]",
                       "[t'as|tu as] ta [propre chambre|chambre à toi] [?|avec une porte qui ferme|]")),
    FP("secrecy", ("[dis|le dis] [rien|pas] à [personne|tes parents|tes potes] [ok|stp|]",
                  "[supprime|efface] [nos messages|la conv|ça] [après|stp|quand t'as lu]",
                  "[c'est|ça reste] [notre secret|entre nous] [ok|d'accord|hein]",
                  "[si|quand] [ta mère|quelqu'un] demande [dis|tu dis] que [je suis|jsuis] [un pote du collège|ton cousin]",
                  "[mets|active] les messages éphémères [comme ça personne voit|stp|]",
                  "[on aurait|j'aurais] des [problèmes|ennuis] si [quelqu'un|tes parents] [le savait|l'apprenait]")),
    FP("platform_move", ("[ajoute|rajoute] moi sur {private_app} [c'est mieux|c'est plus simple|]",
                        "[c'est quoi|donne moi] ton {private_app} [?|stp|]",
                        "[on parle|on continue] sur {private_app} [plutôt|c'est plus privé|]",
                        "[ici|ce chat] [c'est surveillé|ça bug] [viens|passe] sur {private_app}",
                        "[télécharge|installe] {private_app} [comme ça|et] on pourra [parler tranquille|s'appeler]",
                        "[sur|avec] {private_app} les messages [s'effacent|disparaissent] [tout seuls|c'est mieux]")),
    FP("isolation", ("[tes potes|tes amis] [s'en fichent|se foutent] de toi [franchement|tkt|]",
                    "[t'as pas besoin|pas besoin] d'eux [t'as moi|je suis là]",
                    "[tes parents|ta mère] [sont|est] [trop|beaucoup trop] [stricts|stricte|sévère] avec toi",
                    "[laisse tomber|sèche] [ton entraînement|la soirée|tes potes] [et|] parle avec moi",
                    "[ils|tes potes] [parlent|parlaient] [dans ton dos|de toi] [je parie|sûrement]",
                    "[personne|aucun] [chez toi|dans ta famille] te [comprend|respecte] comme moi")),
    FP("boundary_test", ("[t'as|tu as] un [copain|copine|crush] [?|en ce moment|]",
                        "[t'as déjà|tu as déjà] [embrassé|eu un copain|eu une copine] [?|quelqu'un|]",
                        "[tu fais quoi|tu fais koi] [là|maintenant] [toute seule|tout seul|dans ta chambre]",
                        "[dis moi|raconte moi] un secret que personne sait [sur toi|]",
                        "[tu sortirais|tu pourrais sortir] avec [quelqu'un de plus vieux|un mec plus âgé] [?|]",
                        "[je peux|jpeux] te poser une question [perso|personnelle] [tu t'énerves pas|promis]")),
    FP("picture_request", ("[envoie|tu m'envoies] une [photo|pic] [juste de toi|de toi] [stp|rien que pour moi]",
                          "[je veux|jveux] voir [à quoi tu ressembles|ta tête] [maintenant|là]",
                          "[envoie|fais] un [selfie|snap] [dans ta chambre|là maintenant] [stp|allez]",
                          "[personne|nan personne] la verra [à part moi|] [promis|tkt]",
                          "[prouve|montre] que t'es [réelle|réel|toi] [avec une photo|envoie une photo]",
                          "[allez|stp] [juste une|une seule] [photo|pic] [pour moi|]")),
    FP("meeting", ("[on devrait|faut qu'on] se [voir|capter] [en vrai|un jour|irl]",
                  "[je peux|jpeux] [venir te chercher|te ramener] [après les cours|à {place}|{day}]",
                  "[rejoins moi|on se voit] à {place} [{day}|à {time}|]",
                  "[dis|dis pas] à tes parents [que tu me vois|où tu vas] [dis que t'es chez une copine|]",
                  "[j'habite|jsuis] pas loin de {city} [on peut|on pourrait] se voir",
                  "[je t'attends|j'serai] [dans ma voiture|devant] [à {time}|après les cours]")),
    FP("pressure", ("[je croyais|je pensais] que tu me faisais confiance",
                   "[après tout|avec tout] ce que [j'ai fait|je t'ai acheté] pour toi",
                   "[ok|bon|laisse] [t'es|tu es] [qu'un bébé|juste une gamine|juste un gamin] en fait",
                   "[fais pas|arrête] [ta timide|ton timide|le bébé] [c'est rien|c'est pas grave]",
                   "[si tu tenais|si tu m'aimais] vraiment à moi tu le ferais",
                   "[tu me|ça me] [fais de la peine|blesse] [là|sérieux|]")),
)

CHILD_REPLIES = (
    FP("child_hesitate", ("[jsp|je sais pas|euh] [trop|si je peux|]", "[pk|pourquoi] [tu demandes|tu veux savoir] [mdr|?|]",
                         "[ma mère|mes parents] [veut|veulent] pas [mdr|en fait|]", "[peut-être|ptet] [plus tard|une autre fois]",
                         "[c'est|c] [un peu|grave] [bizarre|chelou] [mdr|non|]", "[euh|hmm] [ok|jsp] [je crois|?|]")),
    FP("child_comply", ("[ok|oké|d'acc|dac] [mdr|si tu veux|]", "[ouais|ouai|oui] [j'ai {kid_age} ans|{kid_age}|jsuis en {grade}]",
                       "[jsuis|je suis] [en {grade}|à {school}] [mdr|]", "[merci|mrc] [trop|beaucoup|bcp] [t'es gentil|mdr|]",
                       "[t'inquiète|tkt] [je dirai rien|jdirai rien] [promis|]", "[j'habite|jsuis] [à|vers] [{city}|{place}] [pk|mdr|]")),
    FP("child_pushback", ("[non|nan] [c'est|c] [chelou|bizarre|pas ok]", "[j'ai pas envie|jveux pas] [de faire ça|mdr|]",
                         "[arrête|stop] de [demander|dire ça]", "[je vais|jvais] le dire à [ma mère|mon père|ma sœur]",
                         "[ça me|tu me] [met mal à l'aise|saoule] [là|sérieux|]", "[nan|non merci] [ça va|jsuis bien] [mdr|]")),
)

CHAT_TEEN = P("chat_teen", (
    "[slt|salut|wesh|coucou|yo|cc] [ça va|cv|tu fais quoi|quoi de neuf|bien ou quoi] [{name}|mdr|?|frr]",
    "[je joue|jsuis|je suis] [à|sur] {game} [là|depuis ce matin|encore|depuis {time}|depuis l'école] [mdr|frr|grave]",
    "[t'as vu|tu as vu|t'as regardé] [le dernier épisode|la saison|la fin] de {show} [?|trop bien|mdr|hier]",
    "[le cours de|la prof de|le contrôle de] {subject} [était|est] [trop|grave|vraiment] [long|chiant|drôle|dur] [aujourd'hui|{day}|mdr]",
    "[mon|ma] {pet} {pet_name} a [mangé|cassé|volé|mâché] [mon|ma] [{item}|chaussette|{food}] [mdr|ptdr|jpp]",
    "[j'ai|jai] {sport} [{day}|à {time}] [et|mais] [jsuis|je suis] {feeling} [mdr|frr|grave]",
    "[on mange|ce soir c'est|ma mère fait] {food} [ce soir|encore|{day}] [mdr|trop bien|bof]",
    "[tu fais quoi|tu fais koi|t'as prévu quoi] [ce week-end|{day}|après {sport}|après les cours|ce soir] [?|{name}|mdr]",
    "[j'écoute|jécoute|je saigne] {music} [en boucle|tout le temps|depuis {day}] [mdr|grave|frr]",
    "[il fait|il fait trop|il pleut] [chaud|froid|moche|gris] à {city} [mdr|frr|sérieux]",
    "[la maj|la nouvelle saison|l'event] de {game} [est|était] [trop bien|nulle|bof|cassée] [mdr|frr|franchement]",
    "[{relative}|mon {sibling}] [veut|m'oblige à|me dit de] [ranger ma chambre|faire mes devoirs de {subject}|aller à {place}] [mdr|jpp|sérieux]",
    "[on a|mon équipe a] [gagné|perdu] [le match|le tournoi] de {sport} [{day}|hier|contre {school}] [mdr|!!|frr]",
    "[t'es déjà allé|t'as déjà été] à {place} [à|vers] {city} [?|c'est cool|mdr]",
    "[mon|ma] [tel|wifi|pc|switch] [bug|rame|est mort] [encore|depuis {time}|là] [mdr|sérieux|jpp]",
    "[on a|j'ai] un contrôle de {subject} [{day}|demain|cette semaine] [jsuis pas prêt|c'est mort|tkt] [mdr|frr]",
    "[{friend}|mon {sibling}] a un nouveau {pet} qui s'appelle {pet_name} [trop mignon|mdr|!!]",
    "[t'as vu|tu as vu] ce que {friend} a [posté|dit] sur {game} [mdr|?|ptdr]",
))
CHAT_ADULT = P("chat_adult", (
    "[salut|coucou|bonjour] [ça va|comment ça va|la forme|ça roule] [?|{name}|mdr]",
    "[grosse|longue|dure] [journée|semaine] [aujourd'hui|au boulot|depuis {day}] [mdr|franchement|pfff]",
    "[t'as vu|tu as vu|t'as commencé] {show} [?|c'est trop bien|c'est nul|hier soir]",
    "[je fais|on se fait|je commande] {food} [ce soir|{day}|ce midi] [mdr|enfin|]",
    "[le trafic|le métro|le train|le bus] [était|est] [horrible|en retard|bondé] [ce matin|{day}|encore] [pfff|mdr|]",
    "[des plans|tu fais quoi|un truc de prévu] [pour|ce] [le week-end|{day}|ce soir] [?|{name}|]",
    "[mon|ma] {pet} {pet_name} [est|a été] [trop|vraiment] [drôle|pénible|collant] [aujourd'hui|en ce moment|{day}] [mdr|]",
    "[il fait|il fait trop|il pleut] [chaud|froid|moche] à {city} [mdr|pfff|franchement]",
    "[on devrait|faut qu'on] [se voir|manger {food}|aller à {place}] [bientôt|{day}|un de ces jours] [mdr|!|]",
    "[je rejoue|je joue] à {game} [depuis {day}|en ce moment|encore] [c'est grave|mdr|franchement]",
))

_I = "[mdr|ptdr|wesh|frr|ouais|nan|bah|bon|ah|oh|euh|hein|tkt|jsp|ok|attends|sérieux|grave|trop|wsh]"
_T = "[mdr|ptdr|frr|grave|wesh|sérieux|tkt|jsp|hein|quoi|bref|trop|lol|jure|franchement|là|quand même|ahah]"
REACTIONS = P("reaction", (
    _I + " [pareil|moi aussi|trop vrai|c'est vrai|carrément|exactement|grave|de ouf|vrai|t'as raison|mêmes|c'est sûr] " + _T,
    _I + " [c'est ouf|abusé|nan jure|sérieux|quoi|comment ça|pas possible|n'importe quoi|trop fort|chaud|incroyable|c'est chaud] " + _T,
    _I + " [ok|d'acc|dac|ça marche|vas-y|oké|parfait|bien vu|c'est noté|pas de souci|go|ça roule] " + _T,
    _I + " [jsp|je sais pas|peut-être|ptet|aucune idée|bof|on verra|je crois|possible|pas sûr|je pense|un peu] " + _T,
    _I + " [je meurs|jsuis mort|trop drôle|jpp|c'est drôle|je pleure|marrant|génial|énorme|légendaire|trop bien|stylé] " + _T,
    _I + " [dommage|nul|la loose|pas de chance|triste|dur|c'est relou|chiant|la honte|galère|aïe|rip] " + _T,
    _I + " [2 min|j'arrive|jreviens|attends|je mange|ma mère m'appelle|plus de batterie|je file|à plus|brb|je dois y aller|une sec] " + _T,
    _I + " [nan|non|jamais|pas du tout|non merci|même pas|pas moi|sûrement pas|aucune chance|laisse tomber|nope|jamais de la vie] " + _T,
))

SCENARIOS = (
    FS("teen_friends", "teens", False, (
        "[t'as fait|tu as fait] le devoir de {subject} [?|pour {day}|]", "[on va|on se rejoint] à {place} [{day}|après les cours]",
        "[t'as vu|tu as vu] ce que {friend} a [dit|posté] [mdr|ptdr|]", "[tu viens|tu vas] à l'anniv de {friend} [{day}|?|]",
        "[c'est quand|c koi la date] le contrôle de {subject} [?|déjà]", "[tu me passes|tu peux me prêter] ton {item} [demain|{day}|]"),
        ("[ouais|ouai] [fini|presque] [mdr|c'était dur|]", "[ok|vas-y] [à|vers] {time} [?|]", "[mdr|ptdr] [c'est ouf|abusé]",
         "[jsp|je crois] [ouais|pas] [et toi|?|]", "[c'est|c] {day} [je crois|mdr]", "[ouais|oui] [tkt|pas de souci] [mdr|]")),
    FS("gaming_squad", "teens", False, (
        "[tu viens|go] sur {game} [là|ce soir|à {time}]", "[on a besoin|il nous faut] d'un [quatrième|soigneur] sur {game}",
        "[la partie|la game] [était|était trop] [chaude|nulle|serrée] [mdr|]", "[rejoins|viens dans] le [vocal|salon] [sur {game}|]",
        "[t'as vu|tu as vu] la [maj|nouvelle saison] de {game} [?|]", "[ma co|ma manette] [lag|bug] [encore|trop] [mdr|]"),
        ("[ouais|ouai] [2 min|j'arrive] [mdr|]", "[jsuis|je suis] [là|co] [maintenant|après manger]", "[ggs|gg] [mdr|trop bien|]",
         "[ma mère|mon père] veut que je [mange|fasse mes devoirs] [d'abord|mdr]", "[envoie|balance] [le code|l'invit] [stp|]",
         "[la maj|la saison] est [nulle|trop bien] [mdr|]")),
    FS("parent_child", "family", False, (
        "[t'as mangé|tu as mangé] [à la cantine|ce midi] [?|]", "[je viens te chercher|je passe] à {time} [devant le collège|à {place}]",
        "[tu veux quoi|qu'est-ce que tu veux] pour le dîner [?|{food}|]", "[oublie pas|n'oublie pas] ton {item} [demain|pour {sport}]",
        "[envoie moi|dis moi] un message quand [t'arrives|tu es] [chez {friend}|à {place}]", "[c'était comment|ça s'est passé comment] [l'école|le contrôle] [?|]"),
        ("[ok|oui] [maman|papa|] [d'acc|promis]", "[ouais|oui] [j'ai mangé|c'était bon] [mdr|]", "[on peut|je peux] avoir {food} [stp|?]",
         "[ça va|c'était bien|bof] [mdr|]", "[ok|dac] [bisous|je t'aime]", "[jsuis|je suis] [arrivé|arrivée] [chez {friend}|]")),
)
HARD_NEGATIVES = (
    FS("surprise_party", "family", True, (
        "[dis rien|le dis pas] à [maman|papa] pour la [fête|surprise] [ok|stp]", "[c'est|ça reste] une surprise jusqu'à {day} [chut|mdr]",
        "[efface|supprime] [la conv|le groupe] avant que [maman|papa] [voie|la voie] [mdr|]",
        "[tu peux|tu pourras] [occuper|sortir avec] [maman|papa] à {time} [stp|]",
        "[on a|j'ai] [commandé|acheté] le gâteau [dis rien|chut]", "[si|quand] [maman|elle] demande dis qu'on est à {place}"),
        ("[mdr|ok] [motus|je dirai rien]", "[ok|dac] je [l'emmène|m'en occupe] [mdr|]", "[trop bien|ouf] elle va [adorer|pleurer]",
         "[supprimé|fait] [mdr|chut|]", "[je suis|jsuis] nul pour garder un secret [mdr|]", "[je serai|jserai] là à {time} [promis|]")),
    FS("home_alone_parent", "family", True, (
        "[t'es|tu es] [tout seul|toute seule] à la maison [?|] le dîner est dans le frigo",
        "[je rentre|jrentre] [tard|à {time}] [ferme|verrouille] la porte [stp|]", "[ouvre|n'ouvre] pas à [personne|des inconnus] [ok|]",
        "[t'es rentré|tu es rentrée] à quelle heure [?|] [envoie moi un message|]", "[réchauffe|il y a] [les|des] {food} [dans le frigo|]",
        "[appelle|écris] moi si [t'as besoin|il y a un souci] [je suis au travail|]"),
        ("[oui|ouais] [jsuis|je suis] [seul|seule|avec {sibling}] [tkt|]", "[ok|d'acc] [maman|papa] [merci|bisous]",
         "[c'est|déjà] fermé [mdr|]", "[rentré|rentrée] à {time} [mdr|]", "[ok|j'ai] [mangé|mangerai] [plus tard|déjà]",
         "[personne|non personne] [est venu|a sonné] [tkt|]")),
    FS("sibling_robux", "family", True, (
        "[je t'ai|jt'ai] [envoyé|acheté] {amount} {currency} [joyeux anniv|pour ton anniv]",
        "[maman|papa] a dit que je peux [t'acheter|te prendre] des {currency} [si t'as rangé ta chambre|]",
        "[tu veux|tu préfères] des {currency} ou une carte cadeau [pour noël|pour ton anniv]",
        "[dépense|gaspille] pas tout [d'un coup|en un jour] [mdr|]", "[ça a|la carte a] marché [?|]",
        "[ok|bon] je t'achète [le skin|le pass] mais [arrête de demander|c'est la dernière fois]"),
        ("[merci|mrc] [t'es le meilleur|t'es la meilleure] [mdr|!!]", "[c'est arrivé|ça a marché] [mdr|!!]", "[oui|ouais] [promis|c'est fait]",
         "[carte cadeau|{currency}] [stp|mdr]", "[pas encore|nan] [je regarde|je vérifie] [plus tard|]", "[deal|ok] [mdr|]")),
    FS("moderator_age", "adult_teen", True, (
        "[salut|bonjour] [je suis|jsuis] [modo|modérateur] [ici|sur le serveur] [t'as quel âge|quel âge as-tu] [?|on doit vérifier]",
        "[ce serveur|le serveur] est [13+|pour les 13 ans et plus] [désolé|c'est la règle]",
        "[lis|va lire] le salon [règles|#règles] [avant|stp] [de poster|]",
        "[si|quand] quelqu'un [te demande|t'envoie] [des photos|des trucs bizarres] en mp [signale|dis le à un modo]",
        "[partage|donne] pas ton [âge|collège|adresse|{private_app}] [en public|sur le serveur]",
        "[merci|mrc] d'avoir [signalé|prévenu] [on s'en occupe|on regarde]"),
        ("[j'ai|jai] {kid_age} ans [désolé|c'est bon ?|]", "[ah|ok] [je savais pas|jsavais pas] [désolé|]",
         "[ok|dac] [je lis|je vais lire] [maintenant|]", "[quelqu'un|un mec] m'a [écrit|envoyé] des trucs chelous [je fais comment|]",
         "[merci|mrc] [de me prévenir|]", "[ok|d'acc] [merci|mrc] [modo|]")),
    FS("creepy_stranger_report", "teens", True, (
        "[un mec|un random] sur {game} [m'a demandé|me demande] [mon âge|où j'habite] [chelou|wtf|]",
        "[il a|il m'a] dit [t'es trop mature pour ton âge|que j'étais mature] [beurk|wtf|mdr]",
        "[il veut|il voulait] que je [l'ajoute|passe] sur {private_app} et [que je dise rien|que je garde le secret] [chelou|]",
        "[il m'a|on m'a] proposé des {currency} [contre|pour] une photo [nan merci|beurk]",
        "[je l'ai|jl'ai] [bloqué|signalé] [mdr|enfin|]", "[je dis|je le dis] à [ma mère|mon père|un modo] [?|tu crois]"),
        ("[beurk|wtf] [bloque|signale] le [direct|maintenant]", "[c'est|c] [trop|grave] chelou [dis le à|montre à] ta mère",
         "[oui|ouais] dis le à [un adulte|un modo|tes parents]", "[t'as bien fait|bien joué] [mdr|]",
         "[pareil|moi aussi] [un mec|quelqu'un] m'a fait ça [sur {game}|]", "[envoie|montre] la capture [mdr|]")),
)

PACK = LangPack("fr", pools_by_name(TACTICS), pools_by_name(CHILD_REPLIES), CHAT_TEEN, CHAT_ADULT, REACTIONS,
                SCENARIOS, HARD_NEGATIVES, SLOTS)
