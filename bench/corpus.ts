// Generated text for benchmarks and the device kit's training run: deterministic, mixed English and Chinese, with
// Zipf-distributed words, so that tokenizers and training see something like real text without shipping any.
import { Random } from '../src/core/util/random.ts';

const ENGLISH = `the of and to a in is it you that he was for on are with as I his they be at one have this
from or had by hot word but what some we can out other were all there when up use your how said an each
she which do their time if will way about many then them write would like so these her long make thing see
him two has look more day could go come did number sound no most people my over know water than call first
who may down side been now find any new work part take get place made live where after back little only
round man year came show every good me give our under name very through just form sentence great think say
help low line differ turn cause much mean before move right boy old too same tell does set three want air
well also play small end put home read hand port large spell add even land here must big high such follow
act why ask men change went light kind off need house picture try us again animal point mother world near
build self earth father head stand own page should country found answer school grow study still learn plant
cover food sun four between state keep eye never last let thought city tree cross farm hard start might
story saw far sea draw left late run don't while press close night real life few north open seem together
next white children begin got walk example ease paper group always music those both mark often letter until
mile river car feet care second book carry took science eat room friend began idea fish mountain stop once
base hear horse cut sure watch color face wood main enough plain girl usual young ready above ever red list
though feel talk bird soon body dog family direct pose leave song measure door product black short numeral
class wind question happen complete ship area half rock order fire south problem piece told knew pass since
top whole king space heard best hour better true during hundred five remember step early hold west ground
interest reach fast verb sing listen six table travel less morning ten simple several vowel toward war lay
against pattern slow center love person money serve appear road map rain rule govern pull cold notice voice
unit power town fine certain fly fall lead cry dark machine note wait plan figure star box noun field rest
correct able pound done beauty drive stood contain front teach week final gave green oh quick develop ocean
warm free minute strong special mind behind clear tail produce fact street inch multiply nothing course stay
wheel full force blue object decide surface deep moon island foot system busy test record boat common gold
possible plane stead dry wonder laugh thousand ago ran check game shape equate hot miss brought heat snow
tire bring yes distant fill east paint language among`.split(/\s+/);

const CHINESE = `今天 天气 很好 我们 可以 去 公园 散步 学习 工作 朋友 家人 时间 问题 发展 经济 社会 文化 历史
科学 技术 教育 学生 老师 学校 城市 国家 世界 生活 吃饭 喝茶 喜欢 希望 知道 觉得 开始 已经 现在 明天
昨天 早上 晚上 中国 北京 上海 电脑 手机 音乐 电影 书 字 人 山 水 火 风 雨 花 月 天 地 大 小 多 少 好`.split(/\s+/);

const SYLLABLES = 'ka lo mi ne tru spa qui ez ber ton al vin dor es ma rel chi ung pho ix'.split(' ');

/**
 * Deterministic text: Zipf-distributed words in sentences and paragraphs, a share of them Chinese,
 * and some made-up words for the long tail of rare words that real text has (it is what makes
 * BPE training and the encoder's cache work hard).
 */
export function makeCorpus(chars: number, chineseShare = 0.2, seed = 1): string {
  const random = new Random(seed);
  const rand = () => random.next();
  const zipf = (n: number) =>
    Math.min(n - 1, Math.floor(n ** rand()) - 1 + (rand() < 0.5 ? 0 : Math.floor(rand() * 3)));
  const parts: string[] = [];
  let length = 0;
  while (length < chars) {
    let paragraph = '';
    const sentences = 1 + Math.floor(rand() * 6);
    for (let k = 0; k < sentences; k++) {
      if (rand() < chineseShare) {
        let sentence = '';
        const words = 4 + Math.floor(rand() * 12);
        for (let w = 0; w < words; w++) sentence += CHINESE[zipf(CHINESE.length)] + (rand() < 0.15 ? '，' : '');
        paragraph += sentence + '。';
      } else {
        const words: string[] = [];
        const count = 5 + Math.floor(rand() * 15);
        for (let w = 0; w < count; w++) {
          let word = ENGLISH[zipf(ENGLISH.length)];
          if (rand() < 0.12)
            word = Array.from(
              { length: 2 + Math.floor(rand() * 3) },
              () => SYLLABLES[Math.floor(rand() * SYLLABLES.length)],
            ).join('');
          if (rand() < 0.03) word = String(Math.floor(rand() * 2000));
          if (rand() < 0.08) word += ',';
          words.push(word);
        }
        words[0] = words[0][0].toUpperCase() + words[0].slice(1);
        paragraph += (paragraph ? ' ' : '') + words.join(' ') + (rand() < 0.1 ? '?' : '.');
      }
    }
    parts.push(paragraph, rand() < 0.7 ? '\n\n' : '\n');
    length += paragraph.length + 2;
  }
  return parts.join('');
}
