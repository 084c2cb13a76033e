//! The prompt for `/ask`: answer only from the numbered posts, cite them, in the user's language.

use super::context::ContextPost;
use crate::model::Language;
use crate::ports::ChatMessage;

pub fn answer_prompt(question: &str, context: &[ContextPost], language: Language) -> Vec<ChatMessage> {
    let n = context.len();
    let system = match language {
        Language::Ru => format!(
            "Ты отвечаешь на вопросы пользователя только по постам из его Telegram-каналов, приведённым ниже. \
             Не добавляй фактов, которых нет в постах. После каждого утверждения ставь номер поста-источника в квадратных скобках, \
             например [1] или [2][3]; допустимы только номера от 1 до {n}. Если в постах нет ответа, так и скажи. \
             Отвечай по-русски, кратко, простым текстом без разметки."
        ),
        Language::En => format!(
            "You answer the user's question using only the posts from their Telegram channels given below. \
             Do not add facts that are not in the posts. After every statement put the number of the source post in square \
             brackets, such as [1] or [2][3]; only numbers 1 to {n} exist. If the posts do not answer the question, say so. \
             Answer in English, briefly, in plain text without markup."
        ),
    };
    let mut posts = String::new();
    for c in context {
        posts.push_str(&format!("[{}] {} — {}\n{}\n\n", c.number, c.post.channel_title, c.post.post.date, c.text.trim()));
    }
    let user = match language {
        Language::Ru => format!("Посты:\n\n{posts}Вопрос: {question}"),
        Language::En => format!("Posts:\n\n{posts}Question: {question}"),
    };
    vec![ChatMessage::system(system), ChatMessage::user(user)]
}
